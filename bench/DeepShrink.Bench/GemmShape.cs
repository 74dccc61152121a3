namespace DeepShrink.Bench;

/// <summary>One SGEMM problem shape (row-major, C[m,n] = op(A)[m,k] op(B)[k,n]) with a metric-key stem.</summary>
public sealed record GemmShape(string Key, bool TransA, bool TransB, int M, int N, int K)
{
    /// <summary>Floating-point operations of one product (2 m n k).</summary>
    public double Flops => 2.0 * M * N * K;

    /// <summary>
    /// GEMMs of LeNet-300-100 and LeNet-5 (Caffe variant: conv 20@5x5, conv 50@5x5, fc 800-500-10)
    /// at batch 64. Fully connected layers appear as forward y = x W^T (NT), input gradient
    /// dX = dY W (NN) and weight gradient dW = dY^T X (TN); convolutions as im2col GEMMs
    /// [outC, inC kh kw] x [inC kh kw, batch oh ow].
    /// </summary>
    public static IReadOnlyList<GemmShape> LeNetBatch64 { get; } = Build();

    private static List<GemmShape> Build()
    {
        const int batch = 64;
        var shapes = new List<GemmShape>();
        void Fc(string stem, int inF, int outF)
        {
            shapes.Add(new GemmShape($"{stem}_b{batch}", false, true, batch, outF, inF));
            shapes.Add(new GemmShape($"{stem}_b{batch}_dx", false, false, batch, inF, outF));
            shapes.Add(new GemmShape($"{stem}_b{batch}_dw", true, false, outF, inF, batch));
        }
        Fc("lenet300_fc1", 784, 300);
        Fc("lenet300_fc2", 300, 100);
        Fc("lenet300_fc3", 100, 10);
        shapes.Add(new GemmShape($"lenet5_conv1_b{batch}", false, false, 20, batch * 24 * 24, 1 * 5 * 5));
        shapes.Add(new GemmShape($"lenet5_conv2_b{batch}", false, false, 50, batch * 8 * 8, 20 * 5 * 5));
        Fc("lenet5_fc1", 800, 500);
        Fc("lenet5_fc2", 500, 10);
        return shapes;
    }
}
