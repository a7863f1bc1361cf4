// Named crash points for crash-safety tests.
//
// crash_point("name") kills the process with SIGKILL when the environment variable
// QUIRE_CRASH_POINT equals "name", simulating kill -9 at an exact place (between writing a
// temporary file and renaming it, say). Without the variable it does nothing; the variable is
// read once.
#pragma once

namespace quire {

void crash_point(const char* name);

}  // namespace quire
