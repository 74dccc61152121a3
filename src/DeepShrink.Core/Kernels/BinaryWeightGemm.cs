using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Binary weights x float activations (BinaryConnect / binary-weight networks):
/// y[i, j] = alpha[j] * sum_p x[i, p] s(W[j, p]) + bias[j], with W bit-packed as in <see cref="BinaryPack"/>
/// (bit 1 = +1, bit 0 = -1).
/// </summary>
/// <remarks>
/// BinaryConnect (Courbariaux et al. 2015) uses alpha = 1; binary-weight networks in XNOR-Net
/// (Rastegari et al. 2016) use alpha[j] = mean |W[j, :]|. The product needs no multiplications:
/// each activation is added or subtracted (sign flip by XOR of the float sign bit). For few rows
/// (<see cref="MultiplySignFlip"/>) that runs directly on the bits, 32x less weight traffic than fp32;
/// for many rows (<see cref="MultiplyUnpacked"/>) blocks of weights are expanded to +-1 floats and handed to
/// <see cref="Gemm.Sgemm"/>, whose arithmetic intensity then wins.
/// </remarks>
public static class BinaryWeightGemm
{
    /// <summary>Row count from which <see cref="Multiply"/> expands weights and uses SGEMM.</summary>
    public const int UnpackThresholdRows = 16;

    private const int UnpackColumns = 64;

    /// <summary>Chooses <see cref="MultiplySignFlip"/> or <see cref="MultiplyUnpacked"/> by m; y is overwritten.</summary>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<float> x, int ldx,  // [m, k]
        ReadOnlySpan<ulong> w, int ldw,  // [n, words] bit rows
        ReadOnlySpan<float> alpha,       // [n], [1] or empty (= 1)
        ReadOnlySpan<float> bias,        // [n] or empty
        Span<float> y, int ldy,          // [m, n]
        int threads = 0)
    {
        if (m >= UnpackThresholdRows) MultiplyUnpacked(m, n, k, x, ldx, w, ldw, alpha, bias, y, ldy, threads);
        else MultiplySignFlip(m, n, k, x, ldx, w, ldw, alpha, bias, y, ldy, threads);
    }

    /// <summary>
    /// Direct add/subtract kernel: 4 rows share each expanded sign mask (8 floats per byte of bits); the rows
    /// left over (m mod 4) take 4 weight rows at a time so that each activation load is shared instead.
    /// </summary>
    public static unsafe void MultiplySignFlip(int m, int n, int k, ReadOnlySpan<float> x, int ldx, ReadOnlySpan<ulong> w, int ldw,
        ReadOnlySpan<float> alpha, ReadOnlySpan<float> bias, Span<float> y, int ldy, int threads = 0)
    {
        Validate(m, n, k, x.Length, ldx, w.Length, ldw, alpha.Length, bias.Length, y.Length, ldy);
        if (m == 0 || n == 0) return;
        fixed (float* px = x) fixed (ulong* pw = w) fixed (float* pal = alpha) fixed (float* pb = bias) fixed (float* py = y)
        {
            nint xa = (nint)px, wa = (nint)pw, aa = (nint)pal, ba = (nint)pb, ya = (nint)py;
            int alphaLen = alpha.Length, biasLen = bias.Length, fullRows = m / 4 * 4;
            QuantParallel.ForBlocks(m, m, n, QuantParallel.Resolve(threads), (_, _, j0, j1) =>
            {
                float* xs = (float*)xa, ys = (float*)ya;
                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                byte* W(int j) => (byte*)((ulong*)wa + (long)j * ldw);
                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                void Put(int i, int j, float sum) =>
                    ys[(long)i * ldy + j] = (alphaLen == 0 ? 1f : ((float*)aa)[alphaLen == 1 ? 0 : j]) * sum + (biasLen == 0 ? 0f : ((float*)ba)[j]);
                for (int j = j0; j < j1; j++)
                    for (int i = 0; i < fullRows; i += 4)
                    {
                        var (d0, d1, d2, d3) = FourRows(xs + (long)i * ldx, ldx, W(j), k);
                        Put(i, j, d0); Put(i + 1, j, d1); Put(i + 2, j, d2); Put(i + 3, j, d3);
                    }
                for (int i = fullRows; i < m; i++)
                    for (int j = j0; j < j1; j += 4)
                    {
                        int cols = Math.Min(4, j1 - j);
                        var (d0, d1, d2, d3) = FourColumns(xs + (long)i * ldx, W(j), W(cols > 1 ? j + 1 : j), W(cols > 2 ? j + 2 : j), W(cols > 3 ? j + 3 : j), k);
                        Put(i, j, d0);
                        if (cols > 1) Put(i, j + 1, d1);
                        if (cols > 2) Put(i, j + 2, d2);
                        if (cols > 3) Put(i, j + 3, d3);
                    }
            });
        }
    }

    /// <summary>Expands 64 weight rows at a time to +-1 floats and multiplies with <see cref="Gemm.Sgemm"/>.</summary>
    public static void MultiplyUnpacked(int m, int n, int k, ReadOnlySpan<float> x, int ldx, ReadOnlySpan<ulong> w, int ldw,
        ReadOnlySpan<float> alpha, ReadOnlySpan<float> bias, Span<float> y, int ldy, int threads = 0)
    {
        Validate(m, n, k, x.Length, ldx, w.Length, ldw, alpha.Length, bias.Length, y.Length, ldy);
        if (m == 0 || n == 0) return;
        int kk = Math.Max(1, k);
        float[] block = ArrayPool<float>.Shared.Rent(UnpackColumns * kk);
        try
        {
            for (int j0 = 0; j0 < n; j0 += UnpackColumns)
            {
                int nb = Math.Min(UnpackColumns, n - j0);
                for (int j = 0; j < nb; j++) ExpandSigns(w.Slice((j0 + j) * ldw), k, block.AsSpan(j * kk, k));
                Gemm.Sgemm(false, true, m, nb, k, 1f, x, ldx, block, kk, 0f, y.Slice(j0), ldy, threads);
            }
        }
        finally { ArrayPool<float>.Shared.Return(block); }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[i * ldy + j] = (alpha.IsEmpty ? 1f : alpha[alpha.Length == 1 ? 0 : j]) * y[i * ldy + j] + (bias.IsEmpty ? 0f : bias[j]);
    }

    /// <summary>destination[p] = +1 or -1 from bit p of a packed row.</summary>
    public static void ExpandSigns(ReadOnlySpan<ulong> bits, int k, Span<float> destination) // bits: [words], destination: [k]
    {
        var bytes = MemoryMarshal.AsBytes(bits);
        int p = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; p + 8 <= k; p += 8)
                (Vector256.Create(1f).AsUInt32() ^ SignMask(bytes[p >> 3])).AsSingle().StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)p);
        for (; p < k; p++) destination[p] = (bits[p >> 6] >> (p & 63) & 1) != 0 ? 1f : -1f;
    }

    /// <summary>Lane t is 0 when bit t of <paramref name="bits"/> is set (+1) and the float sign bit otherwise (-1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> SignMask(byte bits)
    {
        var lane = Vector256.Create(1u, 2, 4, 8, 16, 32, 64, 128);
        return Vector256.Equals(Vector256.Create((uint)bits) & lane, Vector256<uint>.Zero) & Vector256.Create(0x8000_0000u);
    }

    /// <summary>sum_p x[r, p] s(w_p) for 4 rows r of x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe (float, float, float, float) FourRows(float* x, int ldx, byte* w, int k)
    {
        float* x0 = x, x1 = x + ldx, x2 = x + 2L * ldx, x3 = x + 3L * ldx;
        int p = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; p + 8 <= k; p += 8)
            {
                var mask = SignMask(w[p >> 3]).AsSingle();
                a0 += Vector256.Load(x0 + p) ^ mask;
                a1 += Vector256.Load(x1 + p) ^ mask;
                a2 += Vector256.Load(x2 + p) ^ mask;
                a3 += Vector256.Load(x3 + p) ^ mask;
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; p < k; p++)
        {
            float sign = Sign(w, p);
            s0 += sign * x0[p]; s1 += sign * x1[p]; s2 += sign * x2[p]; s3 += sign * x3[p];
        }
        return (s0, s1, s2, s3);
    }

    /// <summary>sum_p x[p] s(w_c[p]) for 4 weight rows c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe (float, float, float, float) FourColumns(float* x, byte* w0, byte* w1, byte* w2, byte* w3, int k)
    {
        int p = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; p + 8 <= k; p += 8)
            {
                var xv = Vector256.Load(x + p);
                a0 += xv ^ SignMask(w0[p >> 3]).AsSingle();
                a1 += xv ^ SignMask(w1[p >> 3]).AsSingle();
                a2 += xv ^ SignMask(w2[p >> 3]).AsSingle();
                a3 += xv ^ SignMask(w3[p >> 3]).AsSingle();
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; p < k; p++)
        {
            s0 += Sign(w0, p) * x[p]; s1 += Sign(w1, p) * x[p]; s2 += Sign(w2, p) * x[p]; s3 += Sign(w3, p) * x[p];
        }
        return (s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float Sign(byte* w, int p) => (w[p >> 3] >> (p & 7) & 1) != 0 ? 1f : -1f;

    internal static void Validate(int m, int n, int k, int xLen, int ldx, int wLen, int ldw, int alphaLen, int biasLen, int yLen, int ldy)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative size m={m} n={n} k={k}");
        int words = BinaryPack.WordsFor(k);
        if (ldx < Math.Max(1, k)) throw new ArgumentException($"ldx={ldx} < k={k}", nameof(ldx));
        if (ldw < Math.Max(1, words)) throw new ArgumentException($"ldw={ldw} < words={words}", nameof(ldw));
        if (ldy < Math.Max(1, n)) throw new ArgumentException($"ldy={ldy} < n={n}", nameof(ldy));
        if (m > 0 && k > 0 && xLen < (long)(m - 1) * ldx + k) throw new ArgumentException("x buffer too small", "x");
        if (n > 0 && words > 0 && wLen < (long)(n - 1) * ldw + words) throw new ArgumentException("w buffer too small", "w");
        if (m > 0 && n > 0 && yLen < (long)(m - 1) * ldy + n) throw new ArgumentException("y buffer too small", "y");
        if (alphaLen > 1 && alphaLen != n) throw new ArgumentException($"alpha length {alphaLen}, expected {n}, 1 or 0", "alpha");
        if (biasLen != 0 && biasLen != n) throw new ArgumentException($"bias length {biasLen}, expected {n} or 0", "bias");
    }
}
