using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>Batch normalisation over channels of [N, C] or [N, C, H, W] inputs (Ioffe and Szegedy, 2015).</summary>
public sealed class BatchNorm : Module
{
    /// <summary>Scale gamma [C].</summary>
    public Tensor Weight { get; }
    /// <summary>Shift beta [C].</summary>
    public Tensor Bias { get; }
    /// <summary>Running mean [C].</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running (unbiased) variance [C].</summary>
    public Tensor RunningVar { get; }
    /// <summary>Momentum of the running statistics.</summary>
    public float Momentum { get; }
    /// <summary>Epsilon added to the variance.</summary>
    public float Eps { get; }
    /// <summary>Number of channels.</summary>
    public int Channels { get; }

    /// <summary>Creates the layer (gamma 1, beta 0, running mean 0, running var 1).</summary>
    public BatchNorm(int channels, float momentum = 0.1f, float eps = 1e-5f)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels));
        Channels = channels; Momentum = momentum; Eps = eps;
        Weight = RegisterParameter("weight", Tensor.Ones(channels));
        Bias = RegisterParameter("bias", Tensor.Zeros(channels));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(channels));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(channels));
    }

    /// <summary>
    /// When set, the layer normalises with its running statistics and leaves them unchanged even in
    /// training mode (a frozen backbone: the linear probe of transfer learning).
    /// </summary>
    public bool FreezeStatistics { get; set; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.BatchNorm(x, Weight, Bias, RunningMean, RunningVar, Training && !FreezeStatistics, Momentum, Eps);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, "batchnorm", new[] { input }, new Dictionary<string, string>
        {
            ["weight"] = PathOf(path, "weight"), ["bias"] = PathOf(path, "bias"),
            ["running_mean"] = PathOf(path, "running_mean"), ["running_var"] = PathOf(path, "running_var"),
        }, new Dictionary<string, AttrValue> { ["eps"] = Eps });
}
