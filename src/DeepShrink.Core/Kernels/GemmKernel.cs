namespace DeepShrink.Core.Kernels;

/// <summary>
/// A register-tiled SGEMM micro-kernel: multiplies an MR x kc packed A sliver by a kc x NR packed
/// B sliver and writes one MR x NR tile of C.
/// </summary>
/// <remarks>
/// Packed layouts (Goto and van de Geijn, "Anatomy of high-performance matrix multiplication",
/// ACM TOMS 34(3), 2008; Van Zee and van de Geijn, "BLIS", ACM TOMS 41(3), 2015):
/// the A sliver is k-major, <c>a[p * MR + r] = op(A)[i0 + r, p0 + p]</c>; the B sliver is k-major
/// with row stride ldb, <c>b[p * ldb + j] = op(B)[p0 + p, j0 + j]</c> (ldb = NR when packed; a
/// non-transposed B may also be read in place with its own leading dimension). The tile update is
/// <c>C[r, j] = alpha * sum_p a[p, r] * b[p, j] + beta * C[r, j]</c>, where beta == 0 ignores C.
/// Each tile is reduced over p in increasing order, so results never depend on threading.
/// </remarks>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>Computes a full MR x NR tile of C (row stride <paramref name="ldc"/>); B rows are <paramref name="ldb"/> apart.</summary>
    static abstract void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta);
}
