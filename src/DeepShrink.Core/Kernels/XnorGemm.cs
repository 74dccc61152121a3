using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Binary GEMM for BNN / XNOR-Net inference: C[i, j] = sum_p a_ip w_jp for a, w in {-1, +1}, with the
/// rows bit-packed (<see cref="BinaryPack"/>): dot(a, w) = k - 2 popcount(a XOR w).
/// Exact, deterministic for any thread count.
/// </summary>
/// <remarks>
/// XNOR-Net (Rastegari et al. 2016) and BNN (Courbariaux et al. 2016): with +1 coded as bit 1 and -1 as
/// bit 0, a_p w_p = +1 exactly when the bits agree, so dot = (k - d) - d with d = popcount(a XOR w).
/// Padding bits past k are masked in the kernels, so they never count. The AVX-512 path holds 8 output
/// columns per vector and counts with Harley-Seal carry-save adders (Mula, Kurz, Lemire 2018, "Faster
/// population counts using AVX2 instructions"): 16 XOR words cost 15 CSA steps (two vpternlogq each)
/// and one nibble-table popcount. .NET 10 exposes no VPOPCNTDQ intrinsic, hence the table; where the CPU has
/// VPOPCNTDQ, <see cref="XnorGemmPath.Avx512Vpopcnt"/> runs a 4-row x 32-column tile of <c>vpopcntq</c> generated as
/// machine code at start-up (<see cref="Jit.JitKernels"/>).
/// </remarks>
public static class XnorGemm
{
    internal const int RowBlock = 64;

    /// <summary>Bit multiply-adds below which a thread is not worth adding (~4 us of vpopcntq work).</summary>
    internal const long MinBitMacsPerThread = 1L << 23;

    /// <summary>The fastest path supported by this process, chosen once.</summary>
    public static XnorGemmPath Path { get; } =
        IsSupported(XnorGemmPath.Avx512Vpopcnt) ? XnorGemmPath.Avx512Vpopcnt : IsSupported(XnorGemmPath.Avx512) ? XnorGemmPath.Avx512 : XnorGemmPath.Popcount;

    /// <summary>Name of <see cref="Path"/>.</summary>
    public static string PathName => Path.ToString();

    /// <summary>Whether <paramref name="path"/> can run in this process.</summary>
    public static bool IsSupported(XnorGemmPath path) => path switch
    {
        XnorGemmPath.Popcount => true,
        XnorGemmPath.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported,
        XnorGemmPath.Avx512Vpopcnt => Avx512F.IsSupported && Avx512BW.IsSupported && Jit.JitKernels.HasXnorTile,
        _ => false,
    };

    /// <summary>C = A (x) W^T on the selected <see cref="Path"/>; C is overwritten.</summary>
    public static void Multiply(int m, ReadOnlySpan<ulong> a, int lda, // [m, words] packed rows
        XnorPackedWeights w,                                          // [n, k] bits, interleaved
        Span<int> c, int ldc,                                         // [m, n]
        int threads = 0)
        => Multiply(m, a, lda, w, c, ldc, Path, threads);

    /// <summary>C = A (x) W^T on an explicit path (throws <see cref="PlatformNotSupportedException"/> if unsupported).</summary>
    public static unsafe void Multiply(int m, ReadOnlySpan<ulong> a, int lda, // [m, words] packed rows
        XnorPackedWeights w,                                                 // [n, k] bits, interleaved
        Span<int> c, int ldc,                                                // [m, n]
        XnorGemmPath path, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(w);
        int n = w.N, k = w.K, words = w.Words;
        if (m < 0) throw new ArgumentException($"negative m={m}", nameof(m));
        if (lda < Math.Max(1, words)) throw new ArgumentException($"lda={lda} < words={words}", nameof(lda));
        if (ldc < Math.Max(1, n)) throw new ArgumentException($"ldc={ldc} < n={n}", nameof(ldc));
        if (m > 0 && words > 0 && a.Length < (long)(m - 1) * lda + words) throw new ArgumentException("A buffer too small", nameof(a));
        if (m > 0 && n > 0 && c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException("C buffer too small", nameof(c));
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"XNOR GEMM path {path} is not supported on this CPU");
        if (m == 0 || n == 0) return;
        int nThreads = QuantParallel.Useful((long)m * n * words * 64, QuantParallel.Resolve(threads), MinBitMacsPerThread);
        fixed (ulong* pa = a)
        fixed (ulong* pw = w.DataArray)
        fixed (int* pc = c)
        {
            nint aAddr = (nint)pa, wAddr = (nint)pw, cAddr = (nint)pc;
            QuantParallel.ForBlocks(m, RowBlock, w.Panels, nThreads, (i0, rows, p0, p1) =>
            {
                var job = new XnorGemmKernels.Block((ulong*)aAddr + (long)i0 * lda, lda, (ulong*)wAddr, (int*)cAddr + (long)i0 * ldc, ldc, rows, n, k);
                if (path == XnorGemmPath.Avx512Vpopcnt) XnorGemmKernels.JitBlock(job, p0, p1);
                else if (path == XnorGemmPath.Avx512) XnorGemmKernels.Avx512Block(job, p0, p1);
                else XnorGemmKernels.PopcountBlock(job, p0, p1);
            });
        }
    }
}
