namespace DeepShrink.Core.Kernels;

/// <summary>Instruction-set paths of <see cref="XnorGemm"/>.</summary>
public enum XnorGemmPath
{
    /// <summary>64-bit words with <see cref="System.Numerics.BitOperations.PopCount(ulong)"/> (hardware popcnt where available), 2x4 register tile.</summary>
    Popcount,

    /// <summary>AVX-512: 8 columns per vector, Harley-Seal carry-save adders (vpternlogq) and a nibble-table popcount (vpshufb).</summary>
    Avx512,

    /// <summary>
    /// AVX-512 VPOPCNTDQ: a 4-row x 32-column tile of (vpxorq, vpopcntq, vpaddq) generated as x86-64 machine code
    /// at start-up (Linux x86-64; .NET 10 has no intrinsic for it); edge tiles run on <see cref="Avx512"/>.
    /// </summary>
    Avx512Vpopcnt,
}
