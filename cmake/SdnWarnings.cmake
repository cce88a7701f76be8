# Warning flags for sdn's own targets; -Werror when SDN_WERROR is on (CI).
function(sdn_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(SDN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Re-declares Torch's include directories as SYSTEM so its headers do not
# fail our warning flags.
function(sdn_torch_as_system)
  foreach(t torch torch_library torch_cpu c10)
    if(TARGET ${t})
      get_target_property(dirs ${t} INTERFACE_INCLUDE_DIRECTORIES)
      if(dirs)
        set_target_properties(${t} PROPERTIES
          INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${dirs}")
      endif()
    endif()
  endforeach()
endfunction()
