using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Compression.LowRank;

/// <summary>
/// Row-major float64 matrix product C = A B for the decompositions (Gram matrices, projections).
/// A register-tiled 4x8 micro-kernel on <see cref="Vector256{T}"/> (FMA when present) with scalar
/// edges; <see cref="MultiplyReference"/> is the plain specification it is tested against.
/// </summary>
public static class DoubleGemm
{
    private const int Mr = 4, Nr = 8;

    /// <summary>C = A B. With <paramref name="upperOnly"/> (square C) only the tiles on or above the
    /// diagonal are computed and the lower triangle is copied from the upper (for symmetric products
    /// such as A^T A).</summary>
    public static void Multiply(
        ReadOnlySpan<double> a, // [m, k]
        ReadOnlySpan<double> b, // [k, n]
        Span<double> c,         // [m, n]
        int m, int k, int n, bool upperOnly = false)
    {
        Validate(a.Length, b.Length, c.Length, m, k, n);
        if (upperOnly && m != n) throw new ArgumentException($"gemm: upperOnly needs a square product, got {m}x{n}");
        bool vec = Vector256.IsHardwareAccelerated;
        for (int i0 = 0; i0 < m; i0 += Mr)
        {
            int rows = Math.Min(Mr, m - i0);
            int jStart = upperOnly ? i0 / Nr * Nr : 0;
            int jEnd = jStart;
            if (vec && rows == Mr)
                for (; jEnd + Nr <= n; jEnd += Nr) Tile4x8(a, b, c, i0, jEnd, k, n);
            for (int i = i0; i < i0 + rows; i++)
                for (int j = jEnd; j < n; j++) c[i * n + j] = Dot(a, b, i, j, k, n);
        }
        if (upperOnly)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) c[i * n + j] = c[j * n + i];
    }

    /// <summary>Plain triple loop: the specification of <see cref="Multiply"/>.</summary>
    public static void MultiplyReference(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> c, int m, int k, int n)
    {
        Validate(a.Length, b.Length, c.Length, m, k, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[i * n + j] = Dot(a, b, i, j, k, n);
    }

    /// <summary>Gram matrix G = A^T A of a row-major [m, n] matrix (symmetric [n, n]).</summary>
    public static double[] Gram(ReadOnlySpan<double> a, int m, int n)
    {
        var at = Transpose(a, m, n);
        var g = new double[n * n];
        Multiply(at, a, g, n, m, n, upperOnly: true);
        return g;
    }

    /// <summary>Outer Gram matrix G = A A^T of a row-major [m, n] matrix (symmetric [m, m]).</summary>
    public static double[] OuterGram(ReadOnlySpan<double> a, int m, int n)
    {
        var at = Transpose(a, m, n);
        var g = new double[m * m];
        Multiply(a, at, g, m, n, m, upperOnly: true);
        return g;
    }

    /// <summary>Transpose of a row-major [m, n] matrix, as a new [n, m] array.</summary>
    public static double[] Transpose(ReadOnlySpan<double> a, int m, int n)
    {
        if (a.Length != m * n) throw new ArgumentException($"transpose: {a.Length} values is not {m}x{n}");
        var t = new double[a.Length];
        const int B = 32;
        for (int i0 = 0; i0 < m; i0 += B)
            for (int j0 = 0; j0 < n; j0 += B)
                for (int i = i0; i < Math.Min(i0 + B, m); i++)
                    for (int j = j0; j < Math.Min(j0 + B, n); j++) t[j * m + i] = a[i * n + j];
        return t;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int i, int j, int k, int n)
    {
        double s = 0;
        for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        return s;
    }

    private static void Validate(int aLen, int bLen, int cLen, int m, int k, int n)
    {
        if (m < 0 || k < 0 || n < 0) throw new ArgumentException($"gemm: negative size {m}x{k} * {k}x{n}");
        if (aLen != (long)m * k) throw new ArgumentException($"gemm: A has {aLen} values, expected [{m}, {k}]");
        if (bLen != (long)k * n) throw new ArgumentException($"gemm: B has {bLen} values, expected [{k}, {n}]");
        if (cLen != (long)m * n) throw new ArgumentException($"gemm: C has {cLen} values, expected [{m}, {n}]");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Fmadd(Vector256<double> x, Vector256<double> y, Vector256<double> acc)
        => Fma.IsSupported ? Fma.MultiplyAdd(x, y, acc) : acc + x * y;

    private static void Tile4x8(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> c, int i0, int j0, int k, int n)
    {
        Vector256<double> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<double> c20 = default, c21 = default, c30 = default, c31 = default;
        ref double ar = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
        ref double br = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
        int r0 = i0 * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
        for (int p = 0; p < k; p++)
        {
            int bo = p * n + j0;
            var b0 = Vector256.LoadUnsafe(ref br, (nuint)bo);
            var b1 = Vector256.LoadUnsafe(ref br, (nuint)(bo + 4));
            var a0 = Vector256.Create(Unsafe.Add(ref ar, r0 + p));
            var a1 = Vector256.Create(Unsafe.Add(ref ar, r1 + p));
            var a2 = Vector256.Create(Unsafe.Add(ref ar, r2 + p));
            var a3 = Vector256.Create(Unsafe.Add(ref ar, r3 + p));
            c00 = Fmadd(a0, b0, c00); c01 = Fmadd(a0, b1, c01);
            c10 = Fmadd(a1, b0, c10); c11 = Fmadd(a1, b1, c11);
            c20 = Fmadd(a2, b0, c20); c21 = Fmadd(a2, b1, c21);
            c30 = Fmadd(a3, b0, c30); c31 = Fmadd(a3, b1, c31);
        }
        Store(c, i0 * n + j0, c00, c01); Store(c, (i0 + 1) * n + j0, c10, c11);
        Store(c, (i0 + 2) * n + j0, c20, c21); Store(c, (i0 + 3) * n + j0, c30, c31);
    }

    private static void Store(Span<double> c, int at, Vector256<double> lo, Vector256<double> hi)
    {
        lo.CopyTo(c.Slice(at, 4));
        hi.CopyTo(c.Slice(at + 4, 4));
    }
}
