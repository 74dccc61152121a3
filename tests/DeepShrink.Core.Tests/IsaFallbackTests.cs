using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>Runs <see cref="GemmTests"/> again on the AVX2+FMA and the scalar paths in child processes.</summary>
public class IsaFallbackTests
{
    private const string GemmFilter = "DeepShrink.Core.Tests.GemmTests";

    [Fact]
    public void Gemm_passes_on_vector256_fma() => IsaFallback.AssertPassesInChild(GemmFilter, SimdLevel.Vector256Fma);

    [Fact]
    public void Gemm_passes_on_scalar() => IsaFallback.AssertPassesInChild(GemmFilter, SimdLevel.Scalar);
}
