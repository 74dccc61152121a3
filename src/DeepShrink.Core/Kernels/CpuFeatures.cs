using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>The SIMD instruction level a kernel family runs on.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar code (no usable SIMD, e.g. <c>DOTNET_EnableHWIntrinsic=0</c>).</summary>
    Scalar,
    /// <summary>256-bit vectors with fused multiply-add (x86 AVX2 + FMA).</summary>
    Vector256Fma,
    /// <summary>512-bit vectors with fused multiply-add (x86 AVX-512F).</summary>
    Vector512,
}

/// <summary>
/// CPU feature detection, evaluated once at start-up. The runtime knobs
/// <c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c> and <c>DOTNET_EnableHWIntrinsic=0</c>
/// lower the level, which is how tests exercise every path on one machine.
/// </summary>
public static class CpuFeatures
{
    /// <summary>The best SIMD level that both the hardware and the runtime allow.</summary>
    public static readonly SimdLevel Level = Detect();

    /// <summary>Stable lower-case name of <see cref="Level"/>: "vector512", "vector256-fma" or "scalar".</summary>
    public static string LevelName => Name(Level);

    /// <summary>Stable lower-case name of a SIMD level.</summary>
    public static string Name(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => "vector512",
        SimdLevel.Vector256Fma => "vector256-fma",
        _ => "scalar",
    };

    private static SimdLevel Detect()
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return SimdLevel.Vector512;
        if (Vector256.IsHardwareAccelerated && Fma.IsSupported) return SimdLevel.Vector256Fma;
        return SimdLevel.Scalar;
    }
}
