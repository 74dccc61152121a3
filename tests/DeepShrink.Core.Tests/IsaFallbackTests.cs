using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

// One class per level so xunit runs the child processes in parallel.

/// <summary>Kernel test classes re-run in the children: "A|FullyQualifiedName~B" extends the child's filter.</summary>
internal static class KernelFilters
{
    public const string OtherKernels = "DeepShrink.Core.Tests.ConvKernelTests|FullyQualifiedName~DeepShrink.Core.Tests.PoolTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.BatchNormTests|FullyQualifiedName~DeepShrink.Core.Tests.Int8"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.XnorGemmTests|FullyQualifiedName~DeepShrink.Core.Tests.BinaryIm2RowTests|FullyQualifiedName~DeepShrink.Core.Tests.BinaryKernelTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.QuantKernelTests|FullyQualifiedName~DeepShrink.Core.Tests.ActivationKernelTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.SgdKernelTests"
        + "|FullyQualifiedName~DeepShrink.Core.Tests.FftTests|FullyQualifiedName~DeepShrink.Core.Tests.BlockCirculantKernelTests";
}

/// <summary>Runs the GEMM, conv, pooling, activation, SGD, batch-norm, int8, xnor, binary, quantisation, FFT and block-circulant kernel tests on the AVX2 + FMA path in child processes.</summary>
public class IsaFallbackVector256Tests
{
    [Fact]
    public void Gemm_passes_on_vector256_fma() => IsaFallback.AssertPassesInChild(IsaFallback.GemmFilter, SimdLevel.Vector256Fma);

    [Fact]
    public void Other_kernels_pass_on_vector256_fma() => IsaFallback.AssertPassesInChild(KernelFilters.OtherKernels, SimdLevel.Vector256Fma);
}

/// <summary>Runs the same kernel tests on the scalar path (no hardware intrinsics) in child processes.</summary>
public class IsaFallbackScalarTests
{
    [Fact]
    public void Gemm_passes_on_scalar() => IsaFallback.AssertPassesInChild(IsaFallback.GemmFilter, SimdLevel.Scalar);

    [Fact]
    public void Other_kernels_pass_on_scalar() => IsaFallback.AssertPassesInChild(KernelFilters.OtherKernels, SimdLevel.Scalar);
}

/// <summary>
/// AVX-512 VNNI without AVX-VNNI (Intel Cascade Lake / Ice Lake servers), simulated with <c>DOTNET_EnableAVXVNNI=0</c>:
/// the int8 GEMM must still take the generated 512-bit path and run its edge tiles on it (through a scratch block).
/// </summary>
public class IsaFallbackAvx512WithoutAvxVnniTests
{
    [Fact]
    public void Int8_kernels_pass_without_avx_vnni()
    {
        if (!DeepShrink.Core.Kernels.Jit.JitKernels.HasInt8Tile) return; // no AVX-512 VNNI here: nothing to simulate
        IsaFallback.AssertPassesInChild("DeepShrink.Core.Tests.Int8|FullyQualifiedName~DeepShrink.Core.Tests.JitKernelTests", SimdLevel.Vector512,
            new Dictionary<string, string> { ["DOTNET_EnableAVXVNNI"] = "0" });
    }
}
