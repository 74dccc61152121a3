using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

// One class per level so xunit runs the two child processes in parallel.

/// <summary>Runs <see cref="GemmTests"/> again on the AVX2 + FMA path in a child process.</summary>
public class IsaFallbackVector256Tests
{
    [Fact]
    public void Gemm_passes_on_vector256_fma() => IsaFallback.AssertPassesInChild(IsaFallback.GemmFilter, SimdLevel.Vector256Fma);
}

/// <summary>Runs <see cref="GemmTests"/> again on the scalar path in a child process.</summary>
public class IsaFallbackScalarTests
{
    [Fact]
    public void Gemm_passes_on_scalar() => IsaFallback.AssertPassesInChild(IsaFallback.GemmFilter, SimdLevel.Scalar);
}
