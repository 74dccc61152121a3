namespace DeepShrink.Core.Kernels;

/// <summary>Instruction-set paths of <see cref="XnorGemm"/>.</summary>
public enum XnorGemmPath
{
    /// <summary>64-bit words with <see cref="System.Numerics.BitOperations.PopCount(ulong)"/> (hardware popcnt where available), 2x4 register tile.</summary>
    Popcount,

    /// <summary>AVX-512: 8 columns per vector, Harley-Seal carry-save adders (vpternlogq) and a nibble-table popcount (vpshufb).</summary>
    Avx512,
}
