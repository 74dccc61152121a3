using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>Runs the kernel tests (GEMM, conv, pooling, batch norm, int8, xnor, binary, quantisation) again on the AVX2+FMA and the scalar paths in child processes.</summary>
public class IsaFallbackTests
{
    private const string GemmFilter = "DeepShrink.Core.Tests.GemmTests";

    [Fact]
    public void Gemm_passes_on_vector256_fma() => IsaFallback.AssertPassesInChild(GemmFilter, SimdLevel.Vector256Fma);

    [Fact]
    public void Gemm_passes_on_scalar() => IsaFallback.AssertPassesInChild(GemmFilter, SimdLevel.Scalar);

    // One child per level for the other kernels: "A|FullyQualifiedName~B" extends the child's filter.
    private const string OtherKernels = "DeepShrink.Core.Tests.ConvKernelTests|FullyQualifiedName~DeepShrink.Core.Tests.PoolTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.BatchNormTests|FullyQualifiedName~DeepShrink.Core.Tests.Int8"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.XnorGemmTests|FullyQualifiedName~DeepShrink.Core.Tests.BinaryKernelTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.QuantKernelTests";

    [Fact]
    public void Conv_pool_batchnorm_int8_xnor_pass_on_vector256_fma() => IsaFallback.AssertPassesInChild(OtherKernels, SimdLevel.Vector256Fma);

    [Fact]
    public void Conv_pool_batchnorm_int8_xnor_pass_on_scalar() => IsaFallback.AssertPassesInChild(OtherKernels, SimdLevel.Scalar);
}
