using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary><see cref="Im2Row.PackUInt8"/> is the transpose of <see cref="Im2Col.Pack"/> (its float reference), padding = the given code.</summary>
public class Im2RowTests
{
    [Theory, MemberData(nameof(ConvKernelTests.Named), MemberType = typeof(ConvKernelTests))]
    public void IsTheTransposeOfIm2Col(ConvGeometry g)
    {
        if (g.N > 3) g = g with { N = 3 };
        var rng = new Rng(31);
        var codes = new byte[g.InputSize];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)rng.NextInt(256);
        const byte pad = 77;
        // float image of code - pad: im2col's zero padding then stands for the pad code
        var x = codes.Select(c => (float)(c - pad)).ToArray();
        int k = Im2Col.Rows(g), cols = g.N * g.OutPlane;
        var want = new float[k * cols];
        Im2Col.Pack(g, x, 0, g.N, want);
        var rows = Enumerable.Repeat((byte)1, cols * k + 5).ToArray();
        Im2Row.PackUInt8(g, codes, 0, g.N, pad, rows);
        for (int r = 0; r < cols; r++)
            for (int p = 0; p < k; p++)
                Assert.True(want[p * cols + r] == rows[r * k + p] - pad, $"row {r} col {p}: {rows[r * k + p] - pad} vs {want[p * cols + r]}");
        Assert.Equal(1, rows[^1]); // nothing written past the matrix
    }

    [Fact]
    public void RejectsShortBuffers()
    {
        var g = new ConvGeometry(1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => Im2Row.PackUInt8(g, new byte[16], 0, 1, 0, new byte[10]));
        Assert.Contains("im2row", e.Message);
    }
}
