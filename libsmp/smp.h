#pragma once
// libsmp: SageMaker's model-parallel library (SMP v1, smdistributed.modelparallel.torch) in C++ on
// LibTorch. Include this one header; see libsmp/README.md for the API overview.

#include "libsmp/checkpoint/checkpoint.h"
#include "libsmp/comm/objects.h"
#include "libsmp/model/distributed_model.h"
#include "libsmp/optim/distributed_optimizer.h"
#include "libsmp/pipeline/step.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/groups.h"
#include "libsmp/runtime/init.h"
#include "libsmp/runtime/queries.h"
