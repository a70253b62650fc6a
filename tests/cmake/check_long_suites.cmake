# ctest helper (cmake -P): fails when a test executable holds a doctest suite "long/…" or
# "long-mpi/…" that CMake did not register as a ctest test of its own. Such a suite is excluded
# from the folder's main test and would otherwise never run.
#   -DEXE=path/to/test_area  -DREGISTERED="long/a;long-mpi/b"
cmake_minimum_required(VERSION 3.22)
execute_process(COMMAND ${EXE} --list-test-suites RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list-test-suites failed (exit ${rc}):\n${out}${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(missing)
foreach(line ${lines})
  string(STRIP "${line}" line)
  if(line MATCHES "^long(-mpi)?/" AND NOT line IN_LIST REGISTERED)
    list(APPEND missing "${line}")
  endif()
endforeach()
if(missing)
  list(JOIN missing ", " missing)
  message(FATAL_ERROR "${EXE}: suites ${missing} are not registered with ctest. Name them in a "
    "test_suite(\"long/NAME\") decorator on one line of a source in the test folder (CMakeLists.txt "
    "reads the sources for these literals), then re-run cmake.")
endif()
list(JOIN REGISTERED ", " registered)
message(STATUS "${EXE}: every long suite is a ctest test (${registered})")
