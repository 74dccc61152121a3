using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// s8 weights packed as panels of 8 rows for <see cref="Int8ConvGemm"/>: layout [ceil(m/8)][ceil(k/4)][8][4];
/// rows past m and k past its end are 0.
/// </summary>
public sealed class Int8RowPanels
{
    private readonly sbyte[] _data;

    private Int8RowPanels(int m, int k, sbyte[] data) { M = m; K = k; _data = data; }

    /// <summary>Rows (output channels).</summary>
    public int M { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    /// <summary>Row panels of 8, ceil(M / 8).</summary>
    public int Panels => (M + Int8ConvGemm.RowTile - 1) / Int8ConvGemm.RowTile;

    internal sbyte[] DataArray => _data;

    /// <summary>Packs w[m, k] (row stride ldw).</summary>
    public static Int8RowPanels Pack(int m, int k, ReadOnlySpan<sbyte> w, int ldw)
    {
        Int8Gemm.ValidateSizes(1, m, k);
        if (ldw < Math.Max(1, k)) throw new ArgumentException($"ldw={ldw} < k={k}", nameof(ldw));
        if (m > 0 && k > 0 && w.Length < (long)(m - 1) * ldw + k) throw new ArgumentException("W buffer too small", nameof(w));
        int groups = Int8ConvGemm.Groups(k), panels = (m + 7) / 8;
        var data = new sbyte[Math.Max(1, panels * groups * 32)];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
                data[((i / 8 * groups + p / 4) * 8 + i % 8) * 4 + p % 4] = w[i * ldw + p];
        return new Int8RowPanels(m, k, data);
    }
}

/// <summary>
/// Integer GEMM in the orientation of a convolution over one image: C[m, n] (int32) = W[m, k] (s8) * X[n, k]^T (u8),
/// m = output channels (few), n = output positions (many), k = C KH KW. The output is channel-major, i.e. already
/// the image's [O, OH OW] planes, and no tile is wasted on a handful of channels, which is what makes small
/// convolutions (LeNet-5: 6 and 16 channels) faster in integers than in float.
/// </summary>
/// <remarks>
/// <para>Weights are packed once (<see cref="Int8RowPanels"/>); each image is unfolded straight into column panels
/// (<see cref="PackImage"/>: im2col by row copies, then a 4 x 16 byte transpose per panel and k group) with
/// layout [panel of 16 positions][k group][16][4]. The signed operand is the weights, so activations stay u8
/// codes and the zero-point correction is one constant per output channel (weights must be symmetric).</para>
/// <para>C is written as whole tiles: callers pass a buffer of <see cref="PaddedRows"/> rows whose stride is at
/// least <see cref="PaddedColumns"/>; the padding holds values of no meaning. Paths: the generated 512-bit 8x32
/// tile (<see cref="Jit.JitKernels.Int8Tile8x32SignedA"/>), 256-bit AVX-VNNI, or scalar. Exact on every path.</para>
/// </remarks>
public static unsafe class Int8ConvGemm
{
    /// <summary>Rows per register tile.</summary>
    public const int RowTile = 8;

    private const int Panel = 16, GroupStride = 64;

    /// <summary>4-byte groups covering k.</summary>
    public static int Groups(int k) => (k + 3) / 4;

    /// <summary>Rows of C the kernels write: m rounded up to 8.</summary>
    public static int PaddedRows(int m) => (m + RowTile - 1) / RowTile * RowTile;

    /// <summary>Columns of C the kernels write: n rounded up to 32 (pairs of 16-column panels).</summary>
    public static int PaddedColumns(int n) => (n + 31) / 32 * 32;

    /// <summary>Bytes of the packed X of n columns (see <see cref="PackImage"/>).</summary>
    public static int PackedLength(int n, int k) => PaddedColumns(n) / Panel * Groups(k) * GroupStride;

    /// <summary>Bytes of the im2col scratch <see cref="PackImage"/> needs.</summary>
    public static int ScratchLength(in ConvGeometry g) => Im2Col.Rows(g) * PaddedColumns(g.OutPlane);

    /// <summary>The path <see cref="Multiply"/> takes: "jit-avx512-vnni", "avx-vnni" or "scalar".</summary>
    public static string PathName => Jit.JitKernels.HasInt8TileSignedA ? "jit-avx512-vnni" : AvxVnni.IsSupported ? "avx-vnni" : "scalar";

    /// <summary>
    /// Unfolds image <paramref name="image"/> of u8 codes x[N, C, H, W] into the column panels of X[OH OW, C KH KW]
    /// (positions as columns), with <paramref name="pad"/> outside the image. Groups must be 1.
    /// </summary>
    public static void PackImage(in ConvGeometry g, ReadOnlySpan<byte> x, int image, byte pad, Span<byte> scratch, Span<byte> packed)
    {
        g.Validate();
        if (g.Groups != 1) throw new ArgumentException("Int8ConvGemm: grouped convolutions are not supported");
        ConvGeometry.CheckLength(x.Length, g.InputSize, "image tensor", g.InputShapeText);
        if ((uint)image >= (uint)g.N) throw new ArgumentOutOfRangeException(nameof(image), $"image {image} outside batch of {g.N}");
        int k = Im2Col.Rows(g), ld = PaddedColumns(g.OutPlane);
        if (scratch.Length < (long)k * ld) throw new ArgumentException($"scratch has {scratch.Length} bytes, needs {(long)k * ld}", nameof(scratch));
        if (packed.Length < PackedLength(g.OutPlane, k)) throw new ArgumentException($"packed has {packed.Length} bytes, needs {PackedLength(g.OutPlane, k)}", nameof(packed));
        fixed (byte* px = x, ps = scratch, pp = packed)
        {
            Im2ColBytes(g, px + (long)image * g.C * g.H * g.W, pad, ps, ld);
            PackColumns(ld, k, ps, ld, pp);
        }
    }

    /// <summary>im2col of one image into dst[k, ld] (positions contiguous); columns [plane, ld) get the pad value.</summary>
    private static void Im2ColBytes(in ConvGeometry g, byte* image, byte pad, byte* dst, int ld)
    {
        int oh = g.OH, ow = g.OW, plane = oh * ow, planeIn = g.H * g.W;
        for (int ch = 0; ch < g.C; ch++)
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++)
                {
                    byte* row = dst + (long)((ch * g.KH + ky) * g.KW + kx) * ld;
                    int ox0 = ColumnStart(kx, g.PW, g.DW, g.SW), ox1 = ColumnEnd(kx, g.PW, g.DW, g.SW, g.W, ow);
                    for (int oy = 0; oy < oh; oy++, row += ow)
                    {
                        int iy = oy * g.SH - g.PH + ky * g.DH;
                        if ((uint)iy >= (uint)g.H || ox0 >= ox1) { Unsafe.InitBlockUnaligned(row, pad, (uint)ow); continue; }
                        byte* src = image + ch * planeIn + iy * g.W + kx * g.DW - g.PW;
                        Unsafe.InitBlockUnaligned(row, pad, (uint)ox0);
                        if (g.SW == 1) Unsafe.CopyBlockUnaligned(row + ox0, src + ox0, (uint)(ox1 - ox0));
                        else for (int ox = ox0; ox < ox1; ox++) row[ox] = src[ox * g.SW];
                        Unsafe.InitBlockUnaligned(row + ox1, pad, (uint)(ow - ox1));
                    }
                    Unsafe.InitBlockUnaligned(dst + (long)((ch * g.KH + ky) * g.KW + kx) * ld + plane, pad, (uint)(ld - plane));
                }
    }

    /// <summary>First output column whose input column ox SW - PW + kx DW is >= 0.</summary>
    private static int ColumnStart(int kx, int pw, int dw, int sw)
    {
        int off = kx * dw - pw;
        return off >= 0 ? 0 : (-off + sw - 1) / sw;
    }

    /// <summary>One past the last output column whose input column is &lt; w (clamped to [0, ow]).</summary>
    private static int ColumnEnd(int kx, int pw, int dw, int sw, int w, int ow)
    {
        int off = kx * dw - pw; // input column = ox sw + off < w
        if (w - off <= 0) return 0;
        return Math.Min(ow, (w - off + sw - 1) / sw);
    }

    /// <summary>
    /// Packs X^T[k, ldx] (k-major, n columns, n a multiple of 16) into column panels [n/16][groups][16][4];
    /// k past its end is 0. Four rows of 16 bytes become one 64-byte group with a 4 x 16 byte transpose.
    /// </summary>
    private static void PackColumns(int n, int k, byte* xt, int ldx, byte* dst)
    {
        int groups = Groups(k);
        var zero = Vector128<byte>.Zero;
        for (int p = 0; p < n / Panel; p++)
            for (int q = 0; q < groups; q++)
            {
                byte* d = dst + ((long)p * groups + q) * GroupStride;
                byte* s = xt + (long)4 * q * ldx + p * Panel;
                int rows = Math.Min(4, k - 4 * q);
                if (Sse2.IsSupported)
                {
                    var r0 = Vector128.Load(s);
                    var r1 = rows > 1 ? Vector128.Load(s + ldx) : zero;
                    var r2 = rows > 2 ? Vector128.Load(s + 2 * ldx) : zero;
                    var r3 = rows > 3 ? Vector128.Load(s + 3 * ldx) : zero;
                    var a = Sse2.UnpackLow(r0, r1).AsUInt16();
                    var b = Sse2.UnpackHigh(r0, r1).AsUInt16();
                    var c = Sse2.UnpackLow(r2, r3).AsUInt16();
                    var e = Sse2.UnpackHigh(r2, r3).AsUInt16();
                    Sse2.UnpackLow(a, c).AsByte().Store(d);
                    Sse2.UnpackHigh(a, c).AsByte().Store(d + 16);
                    Sse2.UnpackLow(b, e).AsByte().Store(d + 32);
                    Sse2.UnpackHigh(b, e).AsByte().Store(d + 48);
                }
                else
                {
                    for (int col = 0; col < Panel; col++)
                        for (int t = 0; t < 4; t++)
                            d[col * 4 + t] = t < rows ? s[(long)t * ldx + col] : (byte)0;
                }
            }
    }

    /// <summary>
    /// C[PaddedRows(m), PaddedColumns(n)] = W * X^T for X packed by <see cref="PackImage"/> (n columns, W.K = k);
    /// C has row stride <paramref name="ldc"/> &gt;= PaddedColumns(n) and is overwritten, padding included.
    /// </summary>
    public static void Multiply(Int8RowPanels w, ReadOnlySpan<byte> packedX, int n, Span<int> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(w);
        int cols = PaddedColumns(n), rows = PaddedRows(w.M), groups = Groups(w.K);
        if (n < 0) throw new ArgumentException($"negative n={n}", nameof(n));
        if (ldc < cols) throw new ArgumentException($"ldc={ldc} < padded columns {cols}", nameof(ldc));
        if (packedX.Length < PackedLength(n, w.K)) throw new ArgumentException($"packed X has {packedX.Length} bytes, needs {PackedLength(n, w.K)}", nameof(packedX));
        if (rows > 0 && c.Length < (long)(rows - 1) * ldc + cols) throw new ArgumentException("C buffer too small", nameof(c));
        if (n == 0 || w.M == 0) return;
        fixed (sbyte* pw = w.DataArray)
        fixed (byte* px = packedX)
        fixed (int* pc = c)
        {
            if (w.K == 0)
            {
                for (int i = 0; i < rows; i++) new Span<int>(pc + (long)i * ldc, cols).Clear();
                return;
            }
            bool jit = Jit.JitKernels.HasInt8TileSignedA;
            for (int pair = 0; pair < cols / 32; pair++)
            {
                byte* b0 = px + (long)2 * pair * groups * GroupStride;
                for (int mp = 0; mp < rows / RowTile; mp++)
                {
                    sbyte* a = pw + (long)mp * groups * RowTile * 4;
                    int* cp = pc + (long)mp * RowTile * ldc + pair * 32;
                    if (jit)
                    {
                        var args = new Jit.Int8TileArgs
                        {
                            A = (byte*)a, B0 = (sbyte*)b0, B1 = (sbyte*)(b0 + (long)groups * GroupStride), Groups = groups,
                            C = cp, LdcBytes = (long)ldc * sizeof(int), Accumulate = 0,
                        };
                        Jit.JitKernels.Int8Tile8x32SignedA(&args);
                    }
                    else
                    {
                        for (int s = 0; s < 2; s++)
                        {
                            byte* b = b0 + (long)s * groups * GroupStride;
                            if (AvxVnni.IsSupported) VnniTile(a, b, groups, cp + 16 * s, ldc);
                            else ScalarTile(a, b, groups, cp + 16 * s, ldc);
                        }
                    }
                }
            }
        }
    }

    /// <summary>8 rows x 16 columns with 256-bit vpdpbusd: u8 panel bytes x broadcast s8 weight groups, 16 accumulators in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VnniTile(sbyte* a, byte* b, int groups, int* c, int ldc)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<int> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int q = 0; q < groups; q++, a += 32, b += GroupStride)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 32);
            var wr = Vector256.Create(*(int*)a).AsSByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, b0, wr); c01 = AvxVnni.MultiplyWideningAndAdd(c01, b1, wr);
            wr = Vector256.Create(*(int*)(a + 4)).AsSByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, b0, wr); c11 = AvxVnni.MultiplyWideningAndAdd(c11, b1, wr);
            wr = Vector256.Create(*(int*)(a + 8)).AsSByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, b0, wr); c21 = AvxVnni.MultiplyWideningAndAdd(c21, b1, wr);
            wr = Vector256.Create(*(int*)(a + 12)).AsSByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, b0, wr); c31 = AvxVnni.MultiplyWideningAndAdd(c31, b1, wr);
            wr = Vector256.Create(*(int*)(a + 16)).AsSByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, b0, wr); c41 = AvxVnni.MultiplyWideningAndAdd(c41, b1, wr);
            wr = Vector256.Create(*(int*)(a + 20)).AsSByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, b0, wr); c51 = AvxVnni.MultiplyWideningAndAdd(c51, b1, wr);
            wr = Vector256.Create(*(int*)(a + 24)).AsSByte();
            c60 = AvxVnni.MultiplyWideningAndAdd(c60, b0, wr); c61 = AvxVnni.MultiplyWideningAndAdd(c61, b1, wr);
            wr = Vector256.Create(*(int*)(a + 28)).AsSByte();
            c70 = AvxVnni.MultiplyWideningAndAdd(c70, b0, wr); c71 = AvxVnni.MultiplyWideningAndAdd(c71, b1, wr);
        }
        c00.Store(c); c01.Store(c + 8); c += ldc;
        c10.Store(c); c11.Store(c + 8); c += ldc;
        c20.Store(c); c21.Store(c + 8); c += ldc;
        c30.Store(c); c31.Store(c + 8); c += ldc;
        c40.Store(c); c41.Store(c + 8); c += ldc;
        c50.Store(c); c51.Store(c + 8); c += ldc;
        c60.Store(c); c61.Store(c + 8); c += ldc;
        c70.Store(c); c71.Store(c + 8);
    }

    /// <summary>Portable tile: plain loops.</summary>
    private static void ScalarTile(sbyte* a, byte* b, int groups, int* c, int ldc)
    {
        for (int r = 0; r < RowTile; r++)
            for (int col = 0; col < Panel; col++)
            {
                int s = 0;
                for (int q = 0; q < groups; q++)
                    for (int t = 0; t < 4; t++)
                        s += a[(q * RowTile + r) * 4 + t] * b[q * GroupStride + col * 4 + t];
                c[(long)r * ldc + col] = s;
            }
    }
}
