// What host algo-2 of a 2-host model-parallel job sees: config files and every SM_* value.
#include <catch2/catch_test_macros.hpp>
#include <map>

#include "emulator/env/container_env.h"
#include "libsmp/core/pyjson.h"
#include "tests/emulator/support.h"

using namespace smplocal;

namespace {

TrainingJob two_host_job() {
  Problems problems;
  Json spec = Json::parse(R"({"entry_point": "train.py", "source_dir": "src", "instance_type": "ml.p3.16xlarge",
    "instance_count": 2, "framework_version": "1.8.1", "py_version": "py36", "job_name": "mp-job",
    "hyperparameters": {"epochs": 10, "lr": 0.01},
    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 2, "microbatches": 4, "ddp": true}}},
                     "mpi": {"enabled": true, "processes_per_host": 8, "custom_mpi_options": "-verbose"}},
    "inputs": {"train": {"s3_data": "s3://b/train/", "content_type": "text/csv"}, "test": "s3://b/test/"}})");
  TrainingJob job = parse_estimator(spec, {}, test_context("/s"), problems);
  REQUIRE_FALSE(smp::core::has_errors(problems));
  return job;
}

std::map<std::string, std::string> as_map(const EnvList& env) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : env) m[k] = v;
  return m;
}

}  // namespace

TEST_CASE("config files of algo-2", "[env]") {
  HostFacts facts{64, 8, "0,1,2,3,4,5,6,7", "eth0", "/usr/lib/python3/dist-packages"};
  ContainerEnv c = container_env(two_host_job(), 1, facts);
  CHECK(c.host == "algo-2");
  CHECK(smp::core::py_dumps(c.resource_config) ==
        R"({"current_host": "algo-2", "current_instance_type": "ml.p3.16xlarge", "current_group_name": "homogeneousCluster", )"
        R"("hosts": ["algo-1", "algo-2"], "instance_groups": [{"instance_group_name": "homogeneousCluster", )"
        R"("instance_type": "ml.p3.16xlarge", "hosts": ["algo-1", "algo-2"]}], "network_interface_name": "eth0"})");
  CHECK(smp::core::py_dumps(c.input_data_config) ==
        R"({"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", )"
        R"("RecordWrapperType": "None"}, "test": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}})");
  CHECK(c.hyperparameters_file.at("mp_parameters") == R"({"partitions": 2, "microbatches": 4, "ddp": true})");
  CHECK_FALSE(c.checkpoint_config.has_value());
  CHECK(c.master_host == "algo-1");
  CHECK_FALSE(c.is_master);
}

TEST_CASE("every SM_* variable of algo-2, in the toolkit's order", "[env]") {
  HostFacts facts{64, 8, "0,1,2,3,4,5,6,7", "eth0", "/usr/lib/python3/dist-packages"};
  ContainerEnv c = container_env(two_host_job(), 1, facts);
  std::vector<std::string> order;
  for (const auto& [k, v] : c.sm_env) order.push_back(k);
  std::vector<std::string> expected_order = {
      "SM_HOSTS", "SM_NETWORK_INTERFACE_NAME", "SM_HPS", "SM_USER_ENTRY_POINT", "SM_FRAMEWORK_PARAMS",
      "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG", "SM_OUTPUT_DATA_DIR", "SM_CHANNELS", "SM_CURRENT_HOST",
      "SM_CURRENT_INSTANCE_TYPE", "SM_CURRENT_INSTANCE_GROUP", "SM_CURRENT_INSTANCE_GROUP_HOSTS",
      "SM_INSTANCE_GROUPS", "SM_INSTANCE_GROUPS_DICT", "SM_DISTRIBUTION_INSTANCE_GROUPS", "SM_IS_HETERO",
      "SM_MODULE_NAME", "SM_LOG_LEVEL", "SM_FRAMEWORK_MODULE", "SM_INPUT_DIR", "SM_INPUT_CONFIG_DIR",
      "SM_OUTPUT_DIR", "SM_NUM_CPUS", "SM_NUM_GPUS", "SM_NUM_NEURONS", "SM_MODEL_DIR", "SM_MODULE_DIR",
      "SM_TRAINING_ENV", "SM_USER_ARGS", "SM_OUTPUT_INTERMEDIATE_DIR", "SM_CHANNEL_TRAIN", "SM_CHANNEL_TEST",
      "SM_HP_EPOCHS", "SM_HP_LR", "SM_HP_MP_PARAMETERS", "PYTHONPATH"};
  CHECK(order == expected_order);

  auto env = as_map(c.sm_env);
  CHECK(env["SM_HOSTS"] == R"(["algo-1","algo-2"])");
  CHECK(env["SM_NETWORK_INTERFACE_NAME"] == "eth0");
  CHECK(env["SM_HPS"] == R"({"epochs":10,"lr":0.01,"mp_parameters":{"ddp":true,"microbatches":4,"partitions":2}})");
  CHECK(env["SM_USER_ENTRY_POINT"] == "train.py");
  CHECK(env["SM_FRAMEWORK_PARAMS"] ==
        R"({"sagemaker_distributed_dataparallel_enabled":false,"sagemaker_instance_type":"ml.p3.16xlarge",)"
        R"("sagemaker_mpi_custom_mpi_options":"-verbose","sagemaker_mpi_enabled":true,"sagemaker_mpi_num_of_processes_per_host":8})");
  CHECK(env["SM_RESOURCE_CONFIG"] ==
        R"({"current_group_name":"homogeneousCluster","current_host":"algo-2","current_instance_type":"ml.p3.16xlarge",)"
        R"("hosts":["algo-1","algo-2"],"instance_groups":[{"hosts":["algo-1","algo-2"],"instance_group_name":"homogeneousCluster",)"
        R"("instance_type":"ml.p3.16xlarge"}],"network_interface_name":"eth0"})");
  CHECK(env["SM_INPUT_DATA_CONFIG"] ==
        R"({"test":{"RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"},)"
        R"("train":{"ContentType":"text/csv","RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"}})");
  CHECK(env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data");
  CHECK(env["SM_CHANNELS"] == R"(["test","train"])");
  CHECK(env["SM_CURRENT_HOST"] == "algo-2");
  CHECK(env["SM_CURRENT_INSTANCE_TYPE"] == "ml.p3.16xlarge");
  CHECK(env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster");
  CHECK(env["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == R"(["algo-1","algo-2"])");
  CHECK(env["SM_INSTANCE_GROUPS"] == R"(["homogeneousCluster"])");
  CHECK(env["SM_INSTANCE_GROUPS_DICT"] ==
        R"({"homogeneousCluster":{"hosts":["algo-1","algo-2"],"instance_group_name":"homogeneousCluster","instance_type":"ml.p3.16xlarge"}})");
  CHECK(env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == R"(["homogeneousCluster"])");
  CHECK(env["SM_IS_HETERO"] == "false");
  CHECK(env["SM_MODULE_NAME"] == "train");
  CHECK(env["SM_LOG_LEVEL"] == "20");
  CHECK(env["SM_FRAMEWORK_MODULE"] == "sagemaker_pytorch_container.training:main");
  CHECK(env["SM_INPUT_DIR"] == "/opt/ml/input");
  CHECK(env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config");
  CHECK(env["SM_OUTPUT_DIR"] == "/opt/ml/output");
  CHECK(env["SM_NUM_CPUS"] == "64");
  CHECK(env["SM_NUM_GPUS"] == "8");
  CHECK(env["SM_NUM_NEURONS"] == "0");
  CHECK(env["SM_MODEL_DIR"] == "/opt/ml/model");
  CHECK(env["SM_MODULE_DIR"] == "/opt/ml/code");
  CHECK(env["SM_USER_ARGS"] == R"(["--epochs","10","--lr","0.01","--mp_parameters","ddp=True,microbatches=4,partitions=2"])");
  CHECK(env["SM_OUTPUT_INTERMEDIATE_DIR"] == "/opt/ml/output/intermediate");
  CHECK(env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train");
  CHECK(env["SM_CHANNEL_TEST"] == "/opt/ml/input/data/test");
  CHECK(env["SM_HP_EPOCHS"] == "10");
  CHECK(env["SM_HP_LR"] == "0.01");
  CHECK(env["SM_HP_MP_PARAMETERS"] == R"({"ddp":true,"microbatches":4,"partitions":2})");
  CHECK(env["PYTHONPATH"] == "/opt/ml/code:/usr/lib/python3/dist-packages");

  Json te = Json::parse(env["SM_TRAINING_ENV"]);
  std::vector<std::string> keys;
  for (auto it = te.begin(); it != te.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{
      "additional_framework_parameters", "channel_input_dirs", "current_host", "current_instance_group",
      "current_instance_group_hosts", "current_instance_type", "distribution_hosts", "distribution_instance_groups",
      "framework_module", "hosts", "hyperparameters", "input_config_dir", "input_data_config", "input_dir",
      "instance_groups", "instance_groups_dict", "is_hetero", "is_master", "is_modelparallel_enabled",
      "is_smddpmprun_installed", "is_smddprun_installed", "job_name", "log_level", "master_hostname", "model_dir",
      "module_dir", "module_name", "network_interface_name", "num_cpus", "num_gpus", "num_neurons", "output_data_dir",
      "output_dir", "output_intermediate_dir", "resource_config", "topology", "user_entry_point"});
  CHECK(te["is_master"] == false);
  CHECK(te["master_hostname"] == "algo-1");
  CHECK(te["job_name"] == "mp-job");
  CHECK(te["is_modelparallel_enabled"].is_null());
  CHECK(te["distribution_hosts"] == Json::parse(R"(["algo-1","algo-2"])"));
}

TEST_CASE("toolkit and PyTorch-container variables", "[env]") {
  ContainerEnv c = container_env(two_host_job(), 1, HostFacts{2, 0, "", "lo", ""});
  auto tk = as_map(c.toolkit_env);
  CHECK(tk["CURRENT_HOST"] == "algo-2");
  CHECK(tk["SAGEMAKER_JOB_NAME"] == "mp-job");
  CHECK(tk["SAGEMAKER_REGION"] == "us-west-2");
  CHECK(tk["MASTER_ADDR"] == "algo-1");
  CHECK(tk["MASTER_PORT"] == "7777");
  CHECK(tk["NCCL_SOCKET_IFNAME"] == "lo");
  CHECK(tk["NCCL_IB_DISABLE"] == "1");
  CHECK(tk["NCCL_DEBUG"] == "WARN");
  CHECK(tk["SM_DLC_TORCH_VERSION"] == "1.8.1");
  auto platform = as_map(c.platform_env);
  CHECK(platform["TRAINING_JOB_NAME"] == "mp-job");
  CHECK(platform["CUDA_VISIBLE_DEVICES"] == "");
  CHECK(as_map(c.sm_env)["SM_NUM_GPUS"] == "0");
}

TEST_CASE("without distribution there are no distribution hosts", "[env]") {
  Problems problems;
  TrainingJob job = parse_estimator(Json::parse(R"({"entry_point": "t.py", "instance_type": "ml.m5.xlarge",
    "instance_count": 3, "framework_version": "1.13.1", "py_version": "py39", "job_name": "plain"})"), {},
                                    test_context("/s"), problems);
  ContainerEnv c = container_env(job, 2, HostFacts{});
  CHECK(c.training_env["distribution_hosts"].empty());
  CHECK(c.training_env["master_hostname"] == "algo-1");
  CHECK(as_map(c.sm_env)["SM_DISTRIBUTION_INSTANCE_GROUPS"] == "[]");
  CHECK(as_map(c.sm_env)["SM_HPS"] == "{}");
  CHECK(as_map(c.sm_env)["SM_USER_ARGS"] == "[]");
}

TEST_CASE("hosts are sorted lexicographically beyond nine hosts", "[env]") {
  auto hosts = host_names(11);
  CHECK(hosts[1] == "algo-10");
  CHECK(hosts[3] == "algo-2");
}
