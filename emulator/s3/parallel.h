#pragma once
// run_parallel: a fixed team of worker threads draining one list of tasks, stopping at the first
// failure. The transfer manager flattens every object and part into one such list.

#include <cstddef>
#include <functional>

namespace smp::s3 {

// Calls task(i) for i in [0, count) on min(workers, count) threads (inline when that is 1).
// After the first exception no new task starts; running ones finish; the exception is rethrown.
void run_parallel(size_t count, int workers, const std::function<void(size_t)>& task);

}  // namespace smp::s3
