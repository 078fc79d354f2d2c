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
