#pragma once
// Catch2 for tests that use LibTorch: torch pulls in glog, whose CHECK macro would silently replace
// Catch2's (a glog CHECK aborts and is not counted). Include this instead of the Catch2 header,
// before anything else.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
