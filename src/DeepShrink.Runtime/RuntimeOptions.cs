using DeepShrink.Format;

namespace DeepShrink.Runtime;

/// <summary>Settings of <see cref="InferenceModel.Load(string, RuntimeOptions?)"/>.</summary>
public sealed record RuntimeOptions
{
    /// <summary>The defaults: automatic kernel choice, all threads of <see cref="Core.Parallelism.Degree"/>.</summary>
    public static RuntimeOptions Default { get; } = new();

    /// <summary>Kernel threads per inference call; 0 reads <see cref="Core.Parallelism.Degree"/> at each call.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Share a batch of at least as many images as threads out image by image: each thread runs its own equal part of
    /// the batch through the whole network on one thread (the remainder, batch mod threads, runs afterwards with every
    /// layer shared). Off shares every layer of every batch among the threads. Batch 1 is never split.
    /// </summary>
    public bool ImageParallel { get; init; } = true;

    /// <summary>How each layer's weight storage is chosen.</summary>
    public KernelPolicy Kernels { get; init; } = KernelPolicy.Auto;

    /// <summary>
    /// Batch size of the throughput half of the load-time measurement: a fully connected layer's cost is
    /// its batch-1 time plus its per-sample time at this batch (latency and throughput weigh the same).
    /// </summary>
    public int CalibrationBatch { get; init; } = 16;

    /// <summary>
    /// Fold a batch norm that alone reads a dense convolution's output into that convolution's weights and bias
    /// at load (one step less, one pass over the activations less); off runs it as its own step.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Cut kernel rows and columns that, on this model's input size, only ever meet the zero padding off dense
    /// convolutions at load (a 3 x 3 convolution with padding 1 on a 1 x 1 map becomes a 1 x 1 convolution;
    /// <see cref="Execution.ConvTapCrop"/>); off computes them as stored.
    /// </summary>
    public bool CropPaddingTaps { get; init; } = true;

    /// <summary>
    /// Smallest circulant block run by FFTs; circulant_linear layers with smaller blocks are expanded to their dense
    /// matrix at load (the file keeps the small stored form). Default 64, the measured batch-1 crossover of one
    /// circulant block against a dense layer; 1 keeps every circulant layer on the FFT path.
    /// </summary>
    public int CirculantFftMinBlock { get; init; } = 64;

    /// <summary>
    /// Run dense ungrouped convolutions (without an input transform) on weights packed at load
    /// (<see cref="Core.Kernels.PackedConv"/>) and fuse a following residual add and ReLU into them; off runs the
    /// training engine's im2col + SGEMM kernel and the add as its own step (the earlier path, kept for comparison).
    /// </summary>
    public bool PackConvolutions { get; init; } = true;

    /// <summary>
    /// Run packed 3x3 stride-1 convolutions by Winograd F(4x4, 3x3) or F(2x2, 3x3) (<see cref="Core.Kernels.WinogradConv"/>)
    /// where it pays (enough channels and output tiles per call, <see cref="Core.Kernels.WinogradConv.Pays"/>); results then differ
    /// from the direct convolution by float rounding (about 1e-6 relative); off keeps every convolution direct.
    /// Needs <see cref="PackConvolutions"/>.
    /// </summary>
    public bool Winograd { get; init; } = true;

    /// <summary>
    /// Run dense convolutions with few input channels (an image network's stem, <see cref="Core.Kernels.ConvFewChannels"/>)
    /// directly, with the output channels in the vector lanes, instead of by im2col + GEMM, and fuse a following
    /// 3 x 3 / 2 max pool (padding 1) into them; off keeps them on the packed GEMM and the pool as its own step.
    /// Needs <see cref="PackConvolutions"/>, AVX-512 and output channels a multiple of 16.
    /// </summary>
    public bool FewChannelConvolutions { get; init; } = true;

    /// <summary>
    /// Choose how each packed dense convolution runs by timing the candidates at load on this machine (the GEMM layouts of
    /// <see cref="Core.Kernels.ConvLayout"/> that apply, and Winograd when <see cref="Winograd"/> is on), at batch 1 and at
    /// batch min(8, <see cref="CalibrationBatch"/>); see <see cref="Execution.ConvStep.MeasureAlgorithms"/>. Off keeps the
    /// fixed rules (<see cref="Core.Kernels.PackedConv.AutoLayout"/>, <see cref="Core.Kernels.WinogradConv.Pays"/>), the default:
    /// timings taken while the process is young are disturbed by the JIT's background compilation on the other cores, so
    /// on a small machine the measured choice was often worse than the rules. Needs <see cref="PackConvolutions"/>.
    /// </summary>
    public bool MeasureConvolutions { get; init; }

    /// <summary>Limits for decoding tensors.</summary>
    public DszReadOptions ReadOptions { get; init; } = DszReadOptions.Default;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for values out of range.</summary>
    public void Validate()
    {
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), $"threads must be >= 0 (0 = automatic), got {Threads}");
        if (CalibrationBatch < 1 || CalibrationBatch > 4096) throw new ArgumentOutOfRangeException(nameof(CalibrationBatch), $"calibration batch must be 1..4096, got {CalibrationBatch}");
        ArgumentNullException.ThrowIfNull(ReadOptions);
    }
}
