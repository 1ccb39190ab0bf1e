# Runs `${EXE} ${ARGS}` (ARGS separated by '|') and checks its exit status is ${EXPECT} and that
# its stderr contains ${NEEDLE}: bad flags and values must exit 2 with a message naming the value.
string(REPLACE "|" ";" arg_list "${ARGS}")
execute_process(COMMAND ${EXE} ${arg_list} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL ${EXPECT})
  message(FATAL_ERROR "`catapult ${arg_list}` exited ${rc}, expected ${EXPECT}; stderr: ${err}")
endif()
string(FIND "${err}" "${NEEDLE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "stderr of `catapult ${arg_list}` does not name '${NEEDLE}': ${err}")
endif()
