using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Kernels;
using static DeepShrink.Runtime.Tests.MatrixTestUtil;

namespace DeepShrink.Runtime.Tests;

public class SparseMatrixTests
{
    private const float Tol = 2e-5f;

    public static IEnumerable<object[]> Shapes() =>
    [
        [1, 1, 1.0], [3, 5, 0.5], [16, 32, 0.1], [17, 33, 0.3], [40, 70, 0.08], [33, 100, 0.9], [5, 200, 0.0], [64, 31, 1.0],
    ];

    public static IEnumerable<object[]> Paths() => Enum.GetValues<SimdPath>().Select(p => new object[] { p });

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LayoutRoundTripsTheMatrix(int rows, int cols, double density)
    {
        var rng = new Rng(1);
        var cents = Centroids(rng, 31);
        var codes = Codes(rng, rows, cols, density, 31);
        var dense = Dense(codes, cents);
        var byCode = SparseMatrix.FromCodebook(codes, cents, rows, cols);
        var byValue = SparseMatrix.FromDense(dense, rows, cols);
        Assert.Equal(dense, byCode.ToDense());
        Assert.Equal(dense, byValue.ToDense());
        long nnz = dense.Count(v => v != 0f);
        Assert.Equal(nnz, byCode.Nonzeros);
        Assert.Equal("sparse-codebook", byCode.Kind);
        Assert.Equal("sparse-f32", byValue.Kind);
        Assert.Equal(0, byCode.SlotCount % 16);
        Assert.True(byCode.SlotCount >= nnz);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    internal void EveryPathMatchesTheReference(SimdPath path)
    {
        var rng = new Rng(2);
        foreach (var (rows, cols, density, k) in new[] { (17, 33, 0.3, 31), (40, 70, 0.1, 5), (33, 100, 0.6, 200), (5, 64, 1.0, 2), (20, 25, 0.66, 32) })
        {
            var cents = Centroids(rng, k);
            var codes = Codes(rng, rows, cols, density, k);
            var w = Dense(codes, cents);
            foreach (var m in new[] { SparseMatrix.FromCodebook(codes, cents, rows, cols), SparseMatrix.FromDense(w, rows, cols) })
            {
                foreach (int batch in new[] { 1, 2, 3, 5, 17, 70 })
                {
                    var x = Random(rng, batch * cols);
                    var y = new float[batch * rows];
                    m.MultiplyRows(x, batch, y, 1, path);
                    Assert.True(MaxAbsDiff(RowsReference(w, rows, cols, x, batch), y) <= Tol, $"rows {path} {m.Kind} [{rows},{cols}] k={k} batch {batch}");
                    var yc = new float[rows * batch];
                    m.MultiplyColumns(x, batch, yc, 1, path);
                    Assert.True(MaxAbsDiff(ColumnsReference(w, rows, cols, x, batch), yc) <= Tol, $"columns {path} {m.Kind} [{rows},{cols}] k={k} n {batch}");
                }
            }
        }
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var rng = new Rng(3);
        var cents = Centroids(rng, 31);
        var codes = Codes(rng, 300, 784, 0.3, 31);
        var m = SparseMatrix.FromCodebook(codes, cents, 300, 784);
        foreach (int batch in new[] { 1, 64 })
        {
            var x = Random(rng, batch * 784);
            var y1 = new float[batch * 300];
            var y4 = new float[batch * 300];
            m.MultiplyRows(x, batch, y1, 1);
            m.MultiplyRows(x, batch, y4, 4);
            Assert.Equal(y1, y4);
        }
    }

    [Theory]
    [InlineData(31)]
    [InlineData(100)]
    [InlineData(0)]
    public void ASampleGivesTheSameBitsAloneOrInABatch(int k)
    {
        var rng = new Rng(7);
        var cents = Centroids(rng, Math.Max(k, 1));
        var codes = Codes(rng, 37, 90, 0.2, Math.Max(k, 1));
        var m = k == 0 ? SparseMatrix.FromDense(Dense(codes, cents), 37, 90) : SparseMatrix.FromCodebook(codes, cents, 37, 90);
        var x = Random(rng, 7 * 90);
        var all = new float[7 * 37];
        m.MultiplyRows(x, 7, all, 1);
        for (int b = 0; b < 7; b++)
        {
            var one = new float[37];
            m.MultiplyRows(x.AsSpan(b * 90, 90), 1, one, 1);
            Assert.Equal(one, all.AsSpan(b * 37, 37).ToArray());
        }
    }

    [Fact]
    public void ParallelBlocksCoverTheRangeOnceAndRethrow()
    {
        var hits = new int[1000];
        Runtime.Kernels.RuntimeParallel.For(hits.Length, 3, (a, b) => { for (int i = a; i < b; i++) Interlocked.Increment(ref hits[i]); });
        Assert.All(hits, h => Assert.Equal(1, h));
        var e = Assert.Throws<InvalidOperationException>(() => Runtime.Kernels.RuntimeParallel.For(10, 2, (a, _) => { if (a == 0) throw new InvalidOperationException("boom"); }));
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public void OpensTheStoredSparseCodecsWithoutFillers()
    {
        var rng = new Rng(4);
        var cents = Centroids(rng, 31);
        var codes = Codes(rng, 50, 300, 0.05, 31);
        var w = Dense(codes, cents);
        foreach (var enc in new[]
        {
            SparseCodebookCodec.Encode(codes, [50, 300], cents, gapBits: 3, huffman: true),
            SparseF32Codec.Encode(w, [50, 300], gapBits: 2),
        })
        {
            var st = enc.Codec == SparseF32Codec.CodecName ? SparseF32Codec.Open(enc) : SparseCodebookCodec.Open(enc);
            Assert.True(st.EntryCount > w.Count(v => v != 0f)); // narrow gaps force fillers
            var m = SparseMatrix.FromSparseTensor(st);
            Assert.Equal(w.Count(v => v != 0f), m.Nonzeros);
            Assert.Equal(w, m.ToDense());
            var half = SparseMatrix.FromSparseTensor(st, 20, 30);
            Assert.Equal(w.AsSpan(20 * 300, 30 * 300).ToArray(), half.ToDense());
        }
    }

    [Fact]
    public void MemoryStaysCompressed()
    {
        var rng = new Rng(5);
        var cents = Centroids(rng, 31);
        var codes = Codes(rng, 300, 784, 0.08, 31);
        var m = SparseMatrix.FromCodebook(codes, cents, 300, 784);
        long dense = 4L * 300 * 784;
        Assert.True(m.StorageBytes * 5 < dense, $"{m.StorageBytes} bytes vs dense {dense}");
        Assert.True(m.StorageBytes < 6 * m.Nonzeros, $"{m.StorageBytes} bytes for {m.Nonzeros} nonzeros");
    }

    [Fact]
    public void LargeCodebooksWithoutZeroFallBackToStoredValues()
    {
        var rng = new Rng(6);
        var cents = Centroids(rng, 256);
        var codes = Codes(rng, 9, 40, 0.5, 256);
        var m = SparseMatrix.FromCodebook(codes, cents, 9, 40);
        Assert.Equal("sparse-f32", m.Kind);
        Assert.Equal(Dense(codes, cents), m.ToDense());
        var cents255 = Centroids(rng, 255);
        Assert.Equal("sparse-codebook", SparseMatrix.FromCodebook(Codes(rng, 9, 40, 0.5, 255), cents255, 9, 40).Kind);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var m = SparseMatrix.FromDense(new float[12], 3, 4);
        Assert.Throws<ArgumentException>(() => m.MultiplyRows(new float[7], 2, new float[6], 1));
        Assert.Throws<ArgumentException>(() => m.MultiplyRows(new float[8], 2, new float[5], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.MultiplyRows(new float[8], 2, new float[6], 0));
        Assert.Throws<ArgumentException>(() => SparseMatrix.FromDense(new float[11], 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatrix.FromCodebook([0, 5], [1f, 2f], 1, 2));
    }
}
