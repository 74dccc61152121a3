namespace DeepShrink.Core.Kernels;

/// <summary>Instruction-set paths of <see cref="Int8Gemm"/>.</summary>
public enum Int8GemmPath
{
    /// <summary>Portable scalar loops over the packed layout.</summary>
    Scalar,

    /// <summary>AVX2: s8 and u8 widened to s16, then <c>vpmaddwd</c> (exact, no saturation).</summary>
    Avx2,

    /// <summary>VNNI <c>vpdpbusd</c> on 256-bit vectors (AVX-VNNI, EVEX-encoded when AVX-512 VNNI is present).</summary>
    AvxVnni,

    /// <summary>
    /// AVX-512 VNNI <c>vpdpbusd</c> on 512-bit vectors in an 8x32 tile generated as x86-64 machine code at start-up
    /// (Linux x86-64; .NET 10 has no intrinsic for it). Edge tiles run on AVX-VNNI where present, else on the generated
    /// tile through a scratch block (CPUs with AVX-512 VNNI but no AVX-VNNI, such as Cascade Lake and Ice Lake servers).
    /// </summary>
    Avx512Vnni,
}
