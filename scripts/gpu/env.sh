# Debian 12's Open MPI 4.1.4, nlohmann_json and Catch2, unpacked under .gpu/root by
# scripts/gpu/prepare.sh and made relocatable: the GPU machine has none of them.
# Source with G=<absolute path of .gpu/root>.
export OPAL_PREFIX=$G/usr
export PMIX_PREFIX=$G/usr/lib/x86_64-linux-gnu/pmix2 PMIX_MCA_mca_base_component_path=$G/usr/lib/x86_64-linux-gnu/pmix2/lib/pmix
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/usr/lib/x86_64-linux-gnu/openmpi/lib:$G/usr/lib/x86_64-linux-gnu/pmix2/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$G/usr/bin:$PATH
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_osc=pt2pt,rdma OMPI_MCA_mtl=^ofi,psm,psm2
# PMIx's optional compression plugin may be missing or mismatched there: only a warning.
export PMIX_MCA_pcompress_base_silence_warning=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
