# Run at every build (cmake -P): writes OUT with the current git commit (suffixed "-dirty" when the
# tree has uncommitted changes), rewriting it only when it changed so nothing relinks needlessly.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SRC} RESULT_VARIABLE dirty
                  ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    set(commit "${commit}-dirty")
  endif()
endif()
set(content "// Generated at build time by apps/reproduce/git_commit.cmake.\nnamespace catapult::app::reproduce {\nconst char* build_git_commit() noexcept { return \"${commit}\"; }\n}  // namespace catapult::app::reproduce\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUT} "${content}")
endif()
