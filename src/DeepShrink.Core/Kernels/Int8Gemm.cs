using System.Buffers;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Integer GEMM for 8-bit inference: C[m, n] (int32) = A[m, k] (u8) * W[n, k]^T (s8), row-major,
/// W stored like a Linear weight W[out, in] (rows contiguous along k). Exact (integer) and
/// deterministic for any thread count.
/// </summary>
/// <remarks>
/// <para>Math (Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
/// Integer-Arithmetic-Only Inference"): activations are affine, x ~ s_x (q_x - z_x) with q_x in
/// [0, 255]; weights are symmetric per output channel, w[j] ~ s_w[j] q_w with q_w in [-128, 127]. Then
/// y[i, j] = sum_p x[i,p] w[j,p] ~ s_x s_w[j] (acc[i, j] - z_x colsum[j]), acc = sum_p q_x q_w
/// (this kernel) and colsum[j] = sum_p q_w[j, p] (<see cref="Int8PackedWeights.ColumnSums"/>).
/// The unsigned x signed form is what VNNI <c>vpdpbusd</c> multiplies. Signed s8 activations q_s are fed
/// as q_s + 128 (<see cref="QuantKernels.ShiftToUnsigned"/>) with z_x = 128, which gives the s8 x s8 product
/// after the same correction. <see cref="Int8Requantize"/> applies corrections, scales and bias.</para>
/// <para>|acc| &lt;= 255 * 128 * k, so k is limited to <see cref="MaxK"/> to keep int32 exact.</para>
/// <para>Paths: <see cref="Int8GemmPath.AvxVnni"/> (8x16 register tile of 256-bit <c>vpdpbusd</c>;
/// .NET 10 exposes no 512-bit VNNI intrinsic, the packed layout already fits one), <see cref="Int8GemmPath.Avx2"/>
/// (operands widened to s16 and multiplied with <c>vpmaddwd</c>: <c>vpmaddubsw</c> is avoided because its s16
/// pair sums saturate for 255 * -128 * 2) and <see cref="Int8GemmPath.Scalar"/>. The path is chosen once at
/// start-up (<see cref="Path"/>); every supported path can also be requested explicitly.</para>
/// </remarks>
public static class Int8Gemm
{
    /// <summary>Largest supported reduction length (keeps 255 * 128 * k inside int32).</summary>
    public const int MaxK = 65536;

    /// <summary>Multiply-adds below which a thread is not worth adding (~3 us of VNNI work).</summary>
    internal const long MinMacsPerThread = 1L << 21;

    internal const int Mc = 96;        // rows of A per packed block (multiple of both register tiles)
    internal const int KcGroups = 256; // 4-byte k groups per block (1024 bytes of k)

    /// <summary>The fastest path supported by this process, chosen once.</summary>
    public static Int8GemmPath Path { get; } =
        IsSupported(Int8GemmPath.Avx512Vnni) ? Int8GemmPath.Avx512Vnni : IsSupported(Int8GemmPath.AvxVnni) ? Int8GemmPath.AvxVnni : IsSupported(Int8GemmPath.Avx2) ? Int8GemmPath.Avx2 : Int8GemmPath.Scalar;

    /// <summary>Name of <see cref="Path"/> (for logs and benchmark reports).</summary>
    public static string PathName => Path.ToString();

    /// <summary>Whether <paramref name="path"/> can run in this process.</summary>
    public static bool IsSupported(Int8GemmPath path) => path switch
    {
        Int8GemmPath.Scalar => true,
        Int8GemmPath.Avx2 => Avx2.IsSupported,
        Int8GemmPath.AvxVnni => Avx2.IsSupported && AvxVnni.IsSupported,
        Int8GemmPath.Avx512Vnni => Jit.JitKernels.HasInt8Tile, // edge tiles: AVX-VNNI when present, else the generated tile on scratch
        _ => false,
    };

    /// <summary>C = A * W^T on the selected <see cref="Path"/>; C is overwritten. <paramref name="threads"/> = 0 uses <see cref="Parallelism.Degree"/>.</summary>
    public static void Multiply(int m, ReadOnlySpan<byte> a, int lda, // [m, k]
        Int8PackedWeights w,                                          // [n, k] packed
        Span<int> c, int ldc,                                         // [m, n]
        int threads = 0)
        => Multiply(m, a, lda, w, c, ldc, Path, threads);

    /// <summary>C = A * W^T on an explicit path (throws <see cref="PlatformNotSupportedException"/> if unsupported).</summary>
    public static void Multiply(int m, ReadOnlySpan<byte> a, int lda, // [m, k]
        Int8PackedWeights w,                                          // [n, k] packed
        Span<int> c, int ldc,                                         // [m, n]
        Int8GemmPath path, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(w);
        Validate(m, w.N, w.K, a.Length, lda, c.Length, ldc);
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Int8 GEMM path {path} is not supported on this CPU");
        if (m == 0 || w.N == 0) return;
        Run(m, w.N, w.K, a, lda, w.DataArray, c, ldc, path, QuantParallel.Resolve(threads));
    }

    /// <summary>C = A * W^T with W given unpacked as [n, k]; packs W into pooled scratch first.</summary>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<byte> a, int lda,   // [m, k]
        ReadOnlySpan<sbyte> w, int ldw,  // [n, k]
        Span<int> c, int ldc,            // [m, n]
        int threads = 0)
    {
        Validate(m, n, k, a.Length, lda, c.Length, ldc);
        if (ldw < Math.Max(1, k)) throw new ArgumentException($"ldw={ldw} < k={k}", nameof(ldw));
        if (n > 0 && k > 0 && w.Length < (long)(n - 1) * ldw + k) throw new ArgumentException("W buffer too small", nameof(w));
        if (m == 0 || n == 0) return;
        int packedLen = (n + 15) / 16 * ((k + 3) / 4) * 64;
        sbyte[] packed = ArrayPool<sbyte>.Shared.Rent(Math.Max(1, packedLen));
        try
        {
            Int8PackedWeights.PackInto(n, k, w, ldw, packed);
            Run(m, n, k, a, lda, packed, c, ldc, Path, QuantParallel.Resolve(threads));
        }
        finally { ArrayPool<sbyte>.Shared.Return(packed); }
    }

    internal static void ValidateSizes(int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative int8 GEMM size m={m} n={n} k={k}");
        if (k > MaxK) throw new ArgumentException($"k={k} exceeds Int8Gemm.MaxK={MaxK} (int32 accumulators could overflow)");
    }

    private static void Validate(int m, int n, int k, int aLen, int lda, int cLen, int ldc)
    {
        ValidateSizes(m, n, k);
        if (lda < Math.Max(1, k)) throw new ArgumentException($"lda={lda} < k={k}", nameof(lda));
        if (ldc < Math.Max(1, n)) throw new ArgumentException($"ldc={ldc} < n={n}", nameof(ldc));
        if (m > 0 && k > 0 && aLen < (long)(m - 1) * lda + k) throw new ArgumentException("A buffer too small");
        if (m > 0 && n > 0 && cLen < (long)(m - 1) * ldc + n) throw new ArgumentException("C buffer too small");
    }

    private static unsafe void Run(int m, int n, int k, ReadOnlySpan<byte> a, int lda, sbyte[] packed,
        Span<int> c, int ldc, Int8GemmPath path, int threads)
    {
        if (k == 0)
        {
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        fixed (byte* pa = a)
        fixed (sbyte* pw = packed)
        fixed (int* pc = c)
        {
            nint aAddr = (nint)pa, wAddr = (nint)pw, cAddr = (nint)pc;
            threads = QuantParallel.Useful((long)m * n * k, threads, MinMacsPerThread);
            QuantParallel.ForBlocks(m, Mc, (n + 15) / 16, threads, (i0, rows, p0, p1) =>
            {
                var job = new Int8GemmKernels.Block((byte*)aAddr + (long)i0 * lda, lda, (sbyte*)wAddr, (int*)cAddr + (long)i0 * ldc, ldc, rows, n, k);
                if (path == Int8GemmPath.Scalar) Int8GemmKernels.ScalarBlock(job, p0, p1);
                else Int8GemmKernels.PackedBlock(job, p0, p1, vnni: path != Int8GemmPath.Avx2, jit: path == Int8GemmPath.Avx512Vnni);
            }, itemsPerThread: 1); // each item packs its rows of A again: few, large items
        }
    }
}
