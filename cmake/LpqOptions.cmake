# Compiler flags shared by every lpq target, exposed through the interface target lpq_flags.
add_library(lpq_flags INTERFACE)
target_compile_options(lpq_flags INTERFACE -Wall -Wextra -Wshadow -Wpointer-arith
  -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter)
target_compile_definitions(lpq_flags INTERFACE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE
  LPQ_VERSION="${PROJECT_VERSION}")
if(LPQ_WERROR)
  target_compile_options(lpq_flags INTERFACE -Werror)
endif()
if(LPQ_NATIVE)
  target_compile_options(lpq_flags INTERFACE -march=native)
  target_compile_definitions(lpq_flags INTERFACE LPQ_BUILD_NATIVE=1)
else()
  # Portable: baseline x86-64; SIMD paths are compiled per function with target attributes
  # and picked at run time from CPU features.
  target_compile_definitions(lpq_flags INTERFACE LPQ_BUILD_NATIVE=0)
  # The vector-extension helpers are static inline: no 512-bit value crosses an ABI boundary,
  # so GCC's note about the AVX-512 calling convention does not apply.
  target_compile_options(lpq_flags INTERFACE -Wno-psabi)
endif()
if(LPQ_SANITIZE)
  target_compile_options(lpq_flags INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(lpq_flags INTERFACE -fsanitize=address,undefined)
endif()
set(CMAKE_C_FLAGS_RELEASE "-O2 -g -DNDEBUG" CACHE STRING "" FORCE)

# The commit lpq was built from, recorded in every result file: lpq_commit() lives in a
# generated source that a build-time step rewrites whenever HEAD (or its dirty state) changes.
# Done at configure time only, a later commit would be recorded under the old id.
set(LPQ_COMMIT_SRC ${PROJECT_BINARY_DIR}/generated/lpq-commit.c)
set(LPQ_COMMIT_CMD ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR} -DOUT=${LPQ_COMMIT_SRC}
  -P ${PROJECT_SOURCE_DIR}/cmake/LpqCommit.cmake)
execute_process(COMMAND ${LPQ_COMMIT_CMD})
add_custom_target(lpq_commit_id COMMAND ${LPQ_COMMIT_CMD} BYPRODUCTS ${LPQ_COMMIT_SRC}
  COMMENT "Recording the lpq commit id" VERBATIM)

# lpq_module(NAME DIR): one static library per code folder; sources are the folder's *.c
# (recursively), so adding a file to a module touches only that folder.
function(lpq_module name)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/(tools|cli)/")
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC lpq_flags ${ARGN})
  else()
    # A folder with no code yet still gets its target, so dependents can name it.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE lpq_flags ${ARGN})
  endif()
endfunction()
