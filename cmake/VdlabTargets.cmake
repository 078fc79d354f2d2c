# vdlab_library(NAME SOURCES ... [TORCH] DEPS ...)
# One static library per source folder. Headers are included as "folder/file.h" from the repository
# root, both in the tree and once installed under include/vdlab/.
function(vdlab_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  add_library(vdlab::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/vdlab>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(${name} PUBLIC ${TORCH_LIBRARIES})
    target_compile_options(${name} PUBLIC ${VDLAB_TORCH_FLAGS})
  endif()
  vdlab_warnings(${name})
  # Whatever links a sanitized library (the executables here, a program built against the installed
  # package) needs the sanitizer runtimes.
  if(VDLAB_SANITIZE)
    target_link_options(${name} PUBLIC ${VDLAB_SANITIZE_FLAGS})
  endif()
  install(TARGETS ${name} EXPORT vdlabTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vdlab/${rel}
          FILES_MATCHING PATTERN "*.h")
endfunction()

function(vdlab_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  if(VDLAB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Links the allocator VDLAB_ALLOCATOR names into an executable. No symbol of it is referenced, so the
# link must not drop it as unneeded.
function(vdlab_allocator target)
  if(VDLAB_ALLOCATOR STREQUAL "tcmalloc")
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" ${VDLAB_TCMALLOC_LIBRARY} "-Wl,--pop-state")
  endif()
endfunction()

# VDLAB_SANITIZE: AddressSanitizer and UndefinedBehaviorSanitizer over every target of this tree. An
# undefined-behaviour report aborts the test that met it instead of printing a line a passing test
# hides; frame pointers keep the reports' stacks whole at -O1, which keeps the tests' run time close to
# a release build's. LibTorch, HDF5 and OpenBLAS are Debian's uninstrumented builds: their own code is
# not checked, but every allocation they make goes through AddressSanitizer's malloc. -O1 comes after
# the build type's level, so it holds for any build type.
set(VDLAB_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
macro(vdlab_sanitize_all)
  if(VDLAB_SANITIZE)
    add_compile_options(${VDLAB_SANITIZE_FLAGS} -O1 -g)
    add_link_options(${VDLAB_SANITIZE_FLAGS})
  endif()
endmacro()
