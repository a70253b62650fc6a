// Precompiled header of the Locus targets (CMake option LOCUS_PCH): third-party and standard
// headers that most sources include, parsed once per target instead of once per source. Sources
// still include what they use; this file declares nothing of Locus.
#pragma once
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
