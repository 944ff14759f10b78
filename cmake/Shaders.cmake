# Compiles every shaders/<op>/*.comp to SPIR-V at build time and embeds the words in the engine.
# A shader's first lines may declare variants:   //! variants: f32 f16
# Each variant is compiled with -DVARIANT_<NAME> (upper case) and registered as "<op>/<stem>_<variant>";
# a shader without the line is registered once as "<op>/<stem>". A shader that fails to compile fails the build.
function(ezivk_add_shaders target dir)
  file(GLOB_RECURSE comps CONFIGURE_DEPENDS "${dir}/*.comp")
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS "${dir}/*.glsl")
  set(spvs "")
  set(names "")
  foreach(comp ${comps})
    file(RELATIVE_PATH rel "${dir}" "${comp}")
    get_filename_component(op "${rel}" DIRECTORY)
    get_filename_component(stem "${comp}" NAME_WE)
    # The variants line is read at configure time: editing a shader must re-run the configure step.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${comp}")
    file(STRINGS "${comp}" vline REGEX "^//! variants:" LIMIT_COUNT 1)
    set(variants "")
    if(vline)
      string(REGEX REPLACE "^//! variants:[ ]*" "" vlist "${vline}")
      string(REPLACE " " ";" variants "${vlist}")
    endif()
    if(NOT variants)
      set(variants "-")
    endif()
    foreach(v ${variants})
      if(v STREQUAL "-")
        set(name "${op}/${stem}")
        set(defs "")
      else()
        set(name "${op}/${stem}_${v}")
        string(TOUPPER "${v}" V)
        set(defs "-DVARIANT_${V}")
        # A variant name like f16_coopmat defines both VARIANT_F16 and VARIANT_COOPMAT.
        string(REPLACE "_" ";" parts "${V}")
        foreach(p ${parts})
          list(APPEND defs "-DVARIANT_${p}")
        endforeach()
        list(REMOVE_DUPLICATES defs)
      endif()
      string(REPLACE "/" "__" fname "${name}")
      set(spv "${CMAKE_BINARY_DIR}/shaders/${fname}.spv")
      add_custom_command(OUTPUT "${spv}"
        COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/shaders"
        COMMAND ${EZIVK_GLSLC} --target-env=vulkan1.2 -O -I "${dir}/common" ${defs} -o "${spv}" "${comp}"
        DEPENDS "${comp}" ${headers}
        COMMENT "glslc ${name}"
        VERBATIM)
      list(APPEND spvs "${spv}")
      list(APPEND names "${name}")
    endforeach()
  endforeach()
  set(out "${CMAKE_BINARY_DIR}/embedded_shaders.cpp")
  string(REPLACE ";" "|" spv_arg "${spvs}")
  string(REPLACE ";" "|" name_arg "${names}")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} "-DSPVS=${spv_arg}" "-DNAMES=${name_arg}" "-DOUT=${out}"
            -P "${CMAKE_SOURCE_DIR}/cmake/EmbedShaders.cmake"
    DEPENDS ${spvs} "${CMAKE_SOURCE_DIR}/cmake/EmbedShaders.cmake"
    COMMENT "Embedding ${CMAKE_MATCH_COUNT} SPIR-V modules"
    VERBATIM)
  set(EZIVK_SHADER_CPP "${out}" PARENT_SCOPE)
endfunction()
