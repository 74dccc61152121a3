using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Nn;

/// <summary>
/// Convolution with transferred filters (graph op <c>shared_conv2d</c>): it stores S filters [S, C, k, k] and
/// convolves with their expansion [S G, C, k, k] (<see cref="SharedFilterMap"/>): CReLU's [W; -W] (G = 2), or the
/// p4 / p4m orbits of each filter (G = 4 / 8), in the node's order. Gradients of all copies flow into the stored filter.
/// </summary>
/// <remarks>
/// Shang et al. 2016 (CReLU, ICML); Cohen and Welling 2016, "Group equivariant convolutional networks" (ICML).
/// </remarks>
public sealed class SharedConv2d : Module
{
    private readonly SharedFilterMap _weightMap;
    private readonly SharedFilterMap? _biasMap;

    /// <summary>Stored filters [S, C, k, k].</summary>
    public Tensor Weight { get; }
    /// <summary>Stored biases [S] or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Sharing, order, geometry and output channels.</summary>
    public SharedConvAttrs Attrs { get; }

    /// <summary>Creates a zero-initialised layer (weights are loaded afterwards).</summary>
    /// <remarks><paramref name="inputOrder"/>: see <see cref="SharedConvAttrs.InputOrder"/> (null: plain input channels).</remarks>
    public SharedConv2d(int stored, int inChannels, int kernel, FilterSharing sharing, int[]? order, ConvAttrs geometry, bool bias, int[]? inputOrder = null)
    {
        if (stored < 1 || inChannels < 1 || kernel < 1) throw new ArgumentOutOfRangeException(nameof(stored), "filter counts and kernel size must be positive");
        if (geometry.Groups != 1) throw new ArgumentException($"SharedConv2d: groups must be 1, got {geometry.Groups}");
        int outC = stored * SharedFilterMap.Multiplicity(sharing);
        if (order is not null) SharedFilterMap.CheckOrder(order, outC);
        if (inputOrder is not null)
        {
            if (sharing == FilterSharing.Negation) throw new ArgumentException("SharedConv2d: an input order needs p4 or p4m sharing");
            SharedFilterMap.CheckOrder(inputOrder, inChannels);
        }
        Attrs = new SharedConvAttrs(sharing, order, geometry, outC, inputOrder);
        Weight = RegisterParameter("weight", new Tensor(stored, inChannels, kernel, kernel));
        _weightMap = Attrs.WeightMap(Weight.Shape);
        if (bias)
        {
            Bias = RegisterParameter("bias", new Tensor(stored));
            _biasMap = Attrs.BiasMap(stored);
        }
    }

    /// <summary>The full weight [S G, C, k, k] (differentiable in the stored filters).</summary>
    public Tensor ExpandedWeight() => Ops.SharedFilterExpand(Weight, _weightMap);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var g = Attrs.Conv;
        var b = Bias is null ? null : Ops.SharedFilterExpand(Bias, _biasMap!);
        return Ops.Conv2d(x, ExpandedWeight(), b, (g.StrideH, g.StrideW), (g.PadH, g.PadW), (g.DilationH, g.DilationW), 1);
    }

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        var n = new GraphNode();
        SharedConvAttrs.WriteTo(n, Attrs.Sharing, Attrs.Order, Attrs.Conv, Attrs.InputOrder);
        return g.Add(path, StructuredOps.SharedConv, new[] { input }, p, n.Attrs);
    }
}
