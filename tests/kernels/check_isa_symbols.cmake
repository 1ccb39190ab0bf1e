# cmake -DNM=<nm> -DOBJECTS=<objects of catapult> -P check_isa_symbols.cmake
# Fails if a per-ISA kernel unit (kernels_<isa>.cpp.o) defines a weak symbol, i.e. one another
# unit may define too, that is not specific to the unit: neither in catapult::kernels::isa_<isa>
# (or instantiated with its types) nor xsimd's code for <isa>'s architecture (see
# tests/kernels/CMakeLists.txt).
set(arch_avx512 "avx512bw")
set(arch_avx2 "fma3<xsimd::avx2>")
set(arch_sse "sse2")
set(units 0)
set(offenders "")
foreach(object IN LISTS OBJECTS)
  if(NOT object MATCHES "kernels_(avx512|avx2|sse)\\.cpp\\.o$")
    continue()
  endif()
  set(isa ${CMAKE_MATCH_1})
  math(EXPR units "${units} + 1")
  execute_process(COMMAND ${NM} -C --defined-only ${object} OUTPUT_VARIABLE symbols
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    # Weak code and data: W, w, V, v, u (GNU unique). Data of the personality routine is shared.
    if(NOT line MATCHES "^[0-9a-f]* [WwVvu] (.*)$")
      continue()
    endif()
    set(symbol "${CMAKE_MATCH_1}")
    # Ours: the unit's namespace in the name, demangled or not (nm leaves some lambda statics
    # mangled, e.g. ...NS0_7isa_sse...); anything mangled with it is specific to the unit.
    string(FIND "${symbol}" "isa_${isa}" own)
    string(FIND "${symbol}" "${arch_${isa}}" arch)
    # clang's __clang_call_terminate (a catch-and-std::terminate helper it emits in every unit
    # with noexcept calls) holds no vector code whatever the unit's flags: any copy will do.
    if(own EQUAL -1 AND arch EQUAL -1
       AND NOT symbol MATCHES "^(DW\\.ref\\.__gxx_personality_v0|__clang_call_terminate)$")
      string(APPEND offenders "\n  ${isa}: ${symbol}")
    endif()
  endforeach()
endforeach()
if(NOT units EQUAL 3)
  message(FATAL_ERROR "expected the 3 kernel units among the objects, found ${units}")
endif()
if(offenders)
  message(FATAL_ERROR "per-ISA kernel units define shared weak symbols:${offenders}")
endif()
message(STATUS "3 per-ISA kernel units, no shared weak symbols")
