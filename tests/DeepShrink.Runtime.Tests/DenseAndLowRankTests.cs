using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Kernels;
using static DeepShrink.Runtime.Tests.MatrixTestUtil;

namespace DeepShrink.Runtime.Tests;

public class DenseAndLowRankTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 1)]
    [InlineData(300, 784, 1)]
    [InlineData(10, 33, 5)]
    [InlineData(31, 17, 64)]
    public void DenseMatchesTheReference(int rows, int cols, int batch)
    {
        var rng = new Rng(10);
        var w = Random(rng, rows * cols);
        var m = new DenseMatrix(w, rows, cols);
        var x = Random(rng, batch * cols);
        foreach (int threads in new[] { 1, 3 })
        {
            var y = new float[batch * rows];
            m.MultiplyRows(x, batch, y, threads);
            Assert.True(MaxAbsDiff(RowsReference(w, rows, cols, x, batch), y) <= 1e-4f);
            var yc = new float[rows * batch];
            m.MultiplyColumns(x, batch, yc, threads);
            Assert.True(MaxAbsDiff(ColumnsReference(w, rows, cols, x, batch), yc) <= 1e-4f);
        }
    }

    [Fact]
    public void LowRankMatchesTheDecodedProduct()
    {
        var rng = new Rng(11);
        int m = 40, n = 70, r = 6;
        var u = Random(rng, m * r);
        var v = Random(rng, r * n);
        var enc = LowRankCodec.Encode(u, v, [m, n], r);
        var lr = LowRankMatrix.FromTensor(LowRankCodec.Open(enc));
        var w = enc.Decode();
        Assert.Equal((long)r * (m + n), lr.MacsPerColumn);
        Assert.Equal(4L * r * (m + n), lr.StorageBytes);
        foreach (int batch in new[] { 1, 9 })
        {
            var x = Random(rng, batch * n);
            var y = new float[batch * m];
            lr.MultiplyRows(x, batch, y, 2);
            Assert.True(MaxAbsDiff(RowsReference(w, m, n, x, batch), y) <= 1e-4f);
            var yc = new float[m * batch];
            lr.MultiplyColumns(x, batch, yc, 2);
            Assert.True(MaxAbsDiff(ColumnsReference(w, m, n, x, batch), yc) <= 1e-4f);
        }
    }
}
