using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Nn;

/// <summary>
/// Fully connected layer with a block-circulant weight (graph op <c>circulant_linear</c>): y = (W D x')[:out] + b,
/// x' the input zero-padded to q b, W a p x q grid of b x b circulant blocks stored as their defining vectors
/// [p, q, b], D optional fixed random signs; forward and backward through FFTs (<see cref="Ops.BlockCirculant"/>).
/// One block (p = q = 1, b = max(in, out)) is Cheng et al.'s circulant projection.
/// </summary>
/// <remarks>
/// Cheng et al. 2015, "An exploration of parameter redundancy in deep networks with circulant projections"
/// (ICCV); Ding et al. 2017, CirCNN (MICRO). p q b parameters instead of out x in.
/// </remarks>
public sealed class CirculantLinear : Module
{
    private readonly Tensor? _signs;

    /// <summary>Defining vectors [p, q, b].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out] or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Block grid.</summary>
    public BlockCirculantShape Shape { get; }
    /// <summary>Input features (at most q b).</summary>
    public int InFeatures { get; }
    /// <summary>Output features (at most p b).</summary>
    public int OutFeatures { get; }
    /// <summary>Seed of the input signs, or -1 for none.</summary>
    public long SignSeed { get; }

    /// <summary>Creates a zero-initialised layer (weights are loaded afterwards).</summary>
    public CirculantLinear(int inFeatures, int outFeatures, int blockSize, long signSeed, bool bias)
    {
        if (inFeatures < 1 || outFeatures < 1 || blockSize < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), "features and block size must be positive");
        if (!FftPlan.IsSupportedSize(blockSize)) throw new ArgumentException($"block size {blockSize} is not supported by the FFT");
        Shape = new BlockCirculantShape((outFeatures + blockSize - 1) / blockSize, (inFeatures + blockSize - 1) / blockSize, blockSize);
        InFeatures = inFeatures; OutFeatures = outFeatures; SignSeed = signSeed;
        Weight = RegisterParameter("weight", new Tensor(Shape.OutBlocks, Shape.InBlocks, blockSize));
        if (bias) Bias = RegisterParameter("bias", new Tensor(outFeatures));
        if (signSeed >= 0) _signs = Ops.RandomSigns(Shape.In, (ulong)signSeed);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 2 || x.Shape[1] != InFeatures)
            throw new ArgumentException($"CirculantLinear: input must be [batch, {InFeatures}], got {ShapeUtil.Format(x.Shape)}");
        var xp = Shape.In == InFeatures ? x : Ops.Pad2d(x, 0, 0, 0, Shape.In - InFeatures);
        var y = Ops.BlockCirculant(xp, Weight, _signs);
        if (Shape.Out != OutFeatures) y = Ops.Narrow(y, 1, 0, OutFeatures);
        return Bias is null ? y : Ops.Add(y, Bias);
    }

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        var attrs = new Dictionary<string, AttrValue> { ["input_features"] = InFeatures, ["out_features"] = OutFeatures };
        if (SignSeed >= 0) attrs["sign_seed"] = (double)SignSeed;
        return g.Add(path, StructuredOps.Circulant, new[] { input }, p, attrs);
    }
}
