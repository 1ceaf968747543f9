// Estimator kwargs → CreateTrainingJob: the SDK's hyperparameter translation and naming.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <fstream>

#include "emulator/spec/spec.h"
#include "tests/emulator/support.h"

using namespace smplocal;

namespace {
// The seed example of ../shared/reference/000_32280b5f3933d091.txt, 1:1.
const char* kSeed = R"({
  "entry_point": "your_training_script.py",
  "source_dir": "location_to_your_script",
  "role": "arn:aws:iam::111122223333:role/SageMakerRole",
  "instance_type": "ml.p3.16xlarge",
  "framework_version": "1.8.1",
  "py_version": "py36",
  "instance_count": 1,
  "distribution": {
    "smdistributed": {"modelparallel": {"enabled": true, "parameters": {
      "partitions": 2, "microbatches": 4, "placement_strategy": "spread",
      "pipeline": "interleaved", "optimize": "speed", "ddp": true}}},
    "mpi": {"enabled": true, "processes_per_host": 8}
  },
  "base_job_name": "SMD-MP-demo",
  "inputs": "s3://my_bucket/my_training_data/"
})";
}  // namespace

TEST_CASE("the seed estimator becomes the SDK's hyperparameters", "[spec]") {
  Problems problems;
  TrainingJob job = parse_estimator(Json::parse(kSeed), {}, test_context("/specs"), problems);
  CHECK_FALSE(smp::core::has_errors(problems));
  const Json& hp = job.hyperparameters;
  CHECK(hp.at("sagemaker_program") == "\"your_training_script.py\"");
  CHECK(hp.at("sagemaker_container_log_level") == "20");
  CHECK(hp.at("sagemaker_job_name") == "\"" + job.name + "\"");
  CHECK(hp.at("sagemaker_region") == "\"us-west-2\"");
  CHECK(hp.at("sagemaker_submit_directory") == "\"/opt/ml/code\"");  // local code, local output
  CHECK(hp.at("sagemaker_mpi_enabled") == "true");
  CHECK(hp.at("sagemaker_mpi_num_of_processes_per_host") == "8");
  CHECK(hp.at("sagemaker_mpi_custom_mpi_options") == "\"\"");
  CHECK(hp.at("mp_parameters") ==
        R"({"partitions": 2, "microbatches": 4, "placement_strategy": "spread", "pipeline": "interleaved", "optimize": "speed", "ddp": true})");
  CHECK(hp.at("sagemaker_distributed_dataparallel_enabled") == "false");
  CHECK(hp.at("sagemaker_instance_type") == "\"ml.p3.16xlarge\"");
  CHECK(job.name.rfind("SMD-MP-demo-2024-05-01-12-00-00-123", 0) == 0);
  CHECK(job.image == "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:1.8.1-gpu-py36");
  REQUIRE(job.channels.size() == 1);
  CHECK(job.channels[0].name == "training");
  CHECK(job.channels[0].uri == "s3://my_bucket/my_training_data/");
  CHECK(job.code_source == "/specs/location_to_your_script");
  CHECK(job.entry_point == "your_training_script.py");
  CHECK(job.max_runtime_s == 86400);
  CHECK(job.role_arn == "arn:aws:iam::111122223333:role/SageMakerRole");
}

TEST_CASE("user hyperparameters are JSON-encoded as the framework estimators do", "[spec]") {
  Problems problems;
  Json spec = Json::parse(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "framework_version": "1.13.1",
    "py_version": "py39", "hyperparameters": {"epochs": 10, "lr": 0.01, "opt": "adam", "flag": true,
    "cfg": {"a": 1, "b": [1, 2]}, "tiny": 1e-05, "none": null}})");
  TrainingJob job = parse_estimator(spec, {}, test_context("/s"), problems);
  CHECK(job.hyperparameters.at("epochs") == "10");
  CHECK(job.hyperparameters.at("lr") == "0.01");
  CHECK(job.hyperparameters.at("opt") == "\"adam\"");
  CHECK(job.hyperparameters.at("flag") == "true");
  CHECK(job.hyperparameters.at("cfg") == R"({"a": 1, "b": [1, 2]})");
  CHECK(job.hyperparameters.at("tiny") == "1e-05");
  CHECK(job.hyperparameters.at("none") == "null");
  CHECK(job.code_source == "/s/t.py");  // no source_dir: the script alone
}

TEST_CASE("job names follow name_from_base and the API pattern", "[spec]") {
  auto t = test_context("/").now;
  CHECK(name_from_base("pytorch-training", t) == "pytorch-training-2024-05-01-12-00-00-123");
  std::string long_base(80, 'a');
  CHECK(name_from_base(long_base, t).size() == 63);
  CHECK(valid_job_name("SMD-MP-demo-2024-05-01-12-00-00-123"));
  CHECK_FALSE(valid_job_name("bad_name"));
  CHECK_FALSE(valid_job_name("-leading"));
  CHECK_FALSE(valid_job_name(std::string(64, 'a')));
}

TEST_CASE("sourcedir.tar.gz goes where the SDK uploads it", "[spec]") {
  Problems problems;
  Json spec = Json::parse(R"({"entry_point": "t.py", "source_dir": "src", "instance_type": "ml.p3.2xlarge",
    "framework_version": "1.13.1", "py_version": "py39", "output_path": "s3://out-bucket/some/prefix", "job_name": "j1"})");
  TrainingJob job = parse_estimator(spec, {}, test_context("/s"), problems);
  CHECK(job.code_upload_uri == "s3://out-bucket/j1/source/sourcedir.tar.gz");
  CHECK(job.hyperparameters.at("sagemaker_submit_directory") == "\"s3://out-bucket/j1/source/sourcedir.tar.gz\"");
  spec["code_location"] = "s3://code-bucket/pre/";
  TrainingJob job2 = parse_estimator(spec, {}, test_context("/s"), problems);
  CHECK(job2.code_upload_uri == "s3://code-bucket/pre/j1/source/sourcedir.tar.gz");
  spec["source_dir"] = "s3://b/code/sourcedir.tar.gz";
  TrainingJob job3 = parse_estimator(spec, {}, test_context("/s"), problems);
  CHECK(job3.code_upload_uri.empty());
  CHECK(job3.hyperparameters.at("sagemaker_submit_directory") == "\"s3://b/code/sourcedir.tar.gz\"");
}

TEST_CASE("channels: strings, TrainingInput objects and overrides", "[spec]") {
  Problems problems;
  Json spec = Json::parse(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "framework_version": "1.13.1",
    "py_version": "py39", "inputs": {"train": "data/train", "test": {"s3_data": "s3://b/test/",
    "distribution": "ShardedByS3Key", "content_type": "text/csv", "input_mode": "FastFile"}}})");
  SpecOverrides ov;
  ov.channels = {{"train", "/elsewhere"}, {"extra", "s3://b/x"}};
  ov.hyperparameters = {{"epochs", "3"}, {"name", "not json"}};
  ov.instance_count = 4;
  TrainingJob job = parse_estimator(spec, ov, test_context("/s"), problems);
  REQUIRE(job.channels.size() == 3);
  CHECK(job.channels[0].uri == "/elsewhere");
  CHECK(job.channels[1].distribution == "ShardedByS3Key");
  CHECK(job.channels[1].content_type == "text/csv");
  CHECK(job.channels[1].input_mode == "FastFile");
  CHECK(job.channels[2].name == "extra");
  CHECK(job.hyperparameters.at("epochs") == "3");
  CHECK(job.hyperparameters.at("name") == "\"not json\"");
  CHECK(job.instance_count == 4);
}

TEST_CASE("the SDK's validation messages", "[spec][validation]") {
  auto problems_of = [](const char* text) {
    Problems p;
    parse_estimator(Json::parse(text), {}, test_context("/s"), p);
    return p;
  };
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge"})"),
                    "framework_version or py_version was None, yet image_uri was also None. Either specify both "
                    "framework_version and py_version, or specify image_uri."));
  CHECK(has_message(problems_of(R"({"instance_type": "ml.p3.2xlarge", "image_uri": "x"})"),
                    "Argument entry_point must be set when training_recipe is not provided"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"pytorchddp": {"enabled": true}, "smdistributed": {"dataparallel": {"enabled": true}}}})"),
                    "Cannot use both pytorchddp and smdistributed distribution options together."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 2}},
                    "dataparallel": {"enabled": true}}}})"),
                    "Cannot use more than 1 smdistributed strategy. \nChoose one of the following supported "
                    "strategies:['dataparallel', 'modelparallel']"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"pipelineparallel": {}}}})"),
                    "Invalid smdistributed strategy provided: pipelineparallel \nSupported strategies: ['dataparallel', 'modelparallel']"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": "yes"}})"),
                    "smdistributed strategy requires a dictionary"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p5.48xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 2}}},
                    "mpi": {"enabled": true}}})"),
                    "SMModelParallel and SMDataParallel currently do not support p5 instances."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": {"partitions": 2,
                    "pipeline": "gpipe"}}}}})"),
                    "pipeline must be a value in: ['simple', 'interleaved', '_only_forward']."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": "missing.json"}}}})"),
                    "Expected a string path to an existing modelparallel config, or a dictionary. Received: missing.json."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.m5.xlarge", "image_uri": "x",
                    "distribution": {"torch_distributed": {"enabled": true}}})"),
                    "Currently torch_distributed is supported only for GPU and Trainium instances.\n"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.sh", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"torch_distributed": {"enabled": true}}})"),
                    "Unsupported entry point type for the distribution torch_distributed.\nOnly python programs (*.py) are supported."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "local_gpu", "instance_count": 2, "image_uri": "x"})"),
                    "Distributed Training in Local GPU is not supported. Set instance_count to 1."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"pytorchxla": {"enabled": true}}})"),
                    "Distributed training through PyTorch XLA is currently only supported when SageMaker Training "
                    "Compiler is enabled. To learn more, see Enable SageMaker Training Compiler at "
                    "https://docs.aws.amazon.com/sagemaker/latest/dg/training-compiler-enable.html."));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x", "colour": 1})"),
                    "__init__() got an unexpected keyword argument 'colour'"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "environment": {"N": 1}})"),
                    "Invalid type for parameter Environment.N, value: 1, valid types: <class 'str'>"));
}

TEST_CASE("the SDK's validation messages for data parallel, torch_distributed and config files", "[spec][validation]") {
  auto problems_of = [](const std::string& text) {
    Problems p;
    parse_estimator(Json::parse(text), {}, test_context("/s"), p);
    return p;
  };
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"instance_groups": [], "mpi": {"enabled": true}}})"),
                    "Instance groups not specified in the estimator !"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "image_uri": "x",
                    "distribution": {"smdistributed": {"dataparallel": {"enabled": true}}}})"),
                    "Please specify an instance_type for smdataparallel.\n"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.16xlarge", "framework_version": "1.8.1",
                    "py_version": "py2", "distribution": {"smdistributed": {"dataparallel": {"enabled": true}}}})"),
                    "Provided py_version py2 is not supported by smdataparallel.\nPlease specify py_version>=py3"));
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p4d.24xlarge", "framework_version": "2.0.0",
                    "py_version": "py2", "distribution": {"torch_distributed": {"enabled": true}}})"),
                    "Provided py_version py2 is not supported by torch_distributed.\nPlease specify py_version>=py3\n"));
  const std::string dlc = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.1-gpu-py310-cu121-ubuntu20.04-sagemaker";
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p4d.24xlarge", "image_uri": ")" + dlc +
                                R"(", "distribution": {"smdistributed": {"modelparallel": {"enabled": true,
                    "parameters": {"partitions": 2}}}, "mpi": {"enabled": true}}})"),
                    "SMDistributed is currently incompatible with DLC image: " + dlc +
                        ". (Could be due to CUDA version being greater than 11.)"));
  auto bad = std::filesystem::temp_directory_path() / ("mp-bad-" + std::to_string(::getpid()) + ".json");
  std::ofstream(bad) << "{partitions: 2";
  CHECK(has_message(problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                    "distribution": {"smdistributed": {"modelparallel": {"enabled": true, "parameters": ")" +
                                bad.string() + R"("}}}})"),
                    "Cannot parse " + bad.string() + " as a json file."));
  std::filesystem::remove(bad);
  // A warning, not an error: the SDK refuses local paths outside local mode; smp-local stages them.
  Problems local = problems_of(R"({"entry_point": "t.py", "instance_type": "ml.p3.2xlarge", "image_uri": "x",
                                 "inputs": {"train": "/data/train"}})");
  CHECK(has_message(local, "File URIs are supported in local mode only. Please use a S3 URI instead."));
  CHECK_FALSE(smp::core::has_errors(local));
}

TEST_CASE("a CreateTrainingJob request: channels, outputs, checkpoints, limits and overrides", "[spec]") {
  const char* request = R"({
    "TrainingJobName": "ctj-1",
    "AlgorithmSpecification": {"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39",
                               "TrainingInputMode": "File"},
    "RoleArn": "arn:aws:iam::111122223333:role/SageMakerRole",
    "HyperParameters": {"sagemaker_program": "\"train.py\"", "sagemaker_submit_directory": "\"code\"",
                        "epochs": "3", "sagemaker_mpi_enabled": "true"},
    "InputDataConfig": [
      {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/",
       "S3DataDistributionType": "ShardedByS3Key"}}, "ContentType": "text/csv"},
      {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m.json"}}}],
    "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
    "CheckpointConfig": {"S3Uri": "s3://b/ckpt/", "LocalPath": "/opt/ml/checkpoints/run"},
    "ResourceConfig": {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100},
    "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
    "Environment": {"MODE": "fast"}
  })";
  Problems p;
  TrainingJob job = parse_create_training_job(Json::parse(request), {}, test_context("/specs"), p);
  INFO(p.size());
  CHECK_FALSE(smp::core::has_errors(p));
  CHECK(job.format == SpecFormat::kCreateTrainingJob);
  CHECK(job.name == "ctj-1");
  CHECK(job.instance_type == "ml.p4d.24xlarge");
  CHECK(job.instance_count == 2);
  CHECK(job.max_runtime_s == 7200);
  CHECK(job.output_path == "s3://b/out");
  REQUIRE(job.checkpoint);
  CHECK(job.checkpoint->uri == "s3://b/ckpt/");
  CHECK(job.checkpoint->local_path == "/opt/ml/checkpoints/run");
  REQUIRE(job.channels.size() == 2);
  CHECK(job.channels[0].name == "train");
  CHECK(job.channels[0].distribution == "ShardedByS3Key");
  CHECK(job.channels[0].content_type == std::optional<std::string>("text/csv"));
  CHECK(job.channels[1].s3_data_type == "ManifestFile");
  CHECK(job.channels[1].distribution == "FullyReplicated");
  CHECK(job.code_source == "/specs/code");  // relative to the request file
  CHECK(job.entry_point == "train.py");
  CHECK(job.environment["MODE"] == "fast");
  CHECK(job.hyperparameters["epochs"] == "3");  // values stay the strings the API holds

  SpecOverrides o;
  o.instance_count = 1;
  o.max_run = 60;
  o.hyperparameters = {{"epochs", "5"}};
  o.channels = {{"test", "/data/test"}};
  Problems p2;
  TrainingJob over = parse_create_training_job(Json::parse(request), o, test_context("/specs"), p2);
  CHECK(over.instance_count == 1);
  CHECK(over.max_runtime_s == 60);
  CHECK(over.hyperparameters["epochs"] == "5");
  REQUIRE(over.channels.size() == 2);
  CHECK(over.channels[1].uri == "/data/test");
}
