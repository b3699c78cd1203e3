# Writes ipckit.pc at install time (included by the install(CODE) rule of
# the top-level CMakeLists.txt).  CMAKE_INSTALL_PREFIX is then the prefix
# really installed to; an absolute libdir or includedir is kept as it is,
# a relative one hangs off ${prefix}.
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${IPK_PC_${d}}")
    set(IPK_PC_${d}_PATH "${IPK_PC_${d}}")
  else()
    set(IPK_PC_${d}_PATH "\${prefix}/${IPK_PC_${d}}")
  endif()
endforeach()
set(IPK_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file("${IPK_PC_IN}" "${IPK_PC_OUT}" @ONLY)
