#include "layers/registry.hpp"

#include <algorithm>
#include <mutex>

#include "core/error.hpp"
#include "core/text.hpp"

namespace locus {

// Each built-in layer type's descriptor function, defined beside its layer class.
#define LOCUS_LAYER(descriptor) LayerDescriptor descriptor();
#include "layers/builtin_layers.def"
#undef LOCUS_LAYER

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<LayerDescriptor> layers;
};

// The built-in layer types first (layers/builtin_layers.def), then those programs register.
Registry& registry() {
  static Registry r{{},
                    {
#define LOCUS_LAYER(descriptor) descriptor(),
#include "layers/builtin_layers.def"
#undef LOCUS_LAYER
                    }};
  return r;
}

}  // namespace

GraphCache graph_as_loaded(const Csr& graph, const GnnSpec&) { return {std::make_shared<const Csr>(graph), nullptr}; }

GraphMemory graph_as_loaded_memory(const MemoryShape& s) { return {csr_with_reverse(s.n, s.edges, s.weighted), "copy"}; }

bool LayerDescriptor::reads(const std::string& key) const {
  return std::find(options.begin(), options.end(), key) != options.end();
}

const std::vector<LayerDescriptor>& layer_registry() { return registry().layers; }

std::vector<std::string> layer_names() {
  std::vector<std::string> names;
  for (const auto& d : layer_registry()) names.push_back(d.name);
  return names;
}

const LayerDescriptor* find_layer(const std::string& name) {
  for (const auto& d : layer_registry())
    if (d.name == name) return &d;
  return nullptr;
}

const LayerDescriptor& layer_descriptor(const std::string& name) {
  if (const LayerDescriptor* d = find_layer(name)) return *d;
  const std::string near = nearest(name, layer_names());
  throw InputError("unknown layer type '" + name + "'. " + (near.empty() ? "" : "Did you mean '" + near + "'? ") +
                   "Use one of " + join(layer_names()));
}

bool register_layer(LayerDescriptor d) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  if (d.name.empty()) throw InputError("register_layer: a layer type needs a name");
  for (const auto& x : r.layers)
    if (x.name == d.name)
      throw InputError("register_layer: layer type '" + d.name + "' is already registered; choose another name");
  if (d.structure != Structure::AnchorOnly && (!d.make_float || !d.make_double))
    throw InputError("register_layer: layer type '" + d.name + "' has no factory; call set_factory or set_simple_factory");
  if (!d.csr && !d.dense) throw InputError("register_layer: layer type '" + d.name + "' runs on no topology");
  r.layers.push_back(std::move(d));
  return true;
}

}  // namespace locus
