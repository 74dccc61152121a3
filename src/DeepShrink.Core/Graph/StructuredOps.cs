using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Graph;

/// <summary>
/// The structured-matrix and transferred-filter ops: <c>circulant_linear</c> (a fully connected layer whose
/// weight is a grid of circulant blocks, stored as their defining vectors) and <c>shared_conv2d</c> (a convolution
/// storing one filter per CReLU pair or p4 / p4m orbit), with the attribute readers every consumer shares.
/// </summary>
public static class StructuredOps
{
    /// <summary>Op name of the (block-)circulant fully connected layer.</summary>
    public const string Circulant = "circulant_linear";

    /// <summary>Op name of the shared-filter convolution.</summary>
    public const string SharedConv = "shared_conv2d";

    internal static IEnumerable<OpSchema> All()
    {
        yield return new OpSchema
        {
            Name = Circulant,
            Doc = "y = (W D pad(x))[:out_features] + b; weight [p, q, b]: block (i, j) is circulant with first column weight[i, j]; D = random signs from sign_seed",
            RequiredParams = ["weight"], OptionalParams = ["bias"],
            AttrDocs = new Dictionary<string, string> { ["input_features"] = "q b", ["out_features"] = "p b", ["sign_seed"] = "none (-1)" },
            InferShapes = c =>
            {
                var a = CirculantAttrs.Of(c.Node, c.Param("weight"), c.X);
                var bias = c.ParamShape("bias");
                if (bias is not null && (bias.Length != 1 || bias[0] != a.OutFeatures))
                    throw new FormatException($"node '{c.Node.Name}' ({Circulant}): bias has shape {ShapeUtil.Format(bias)}, expected [{a.OutFeatures}]");
                return [[a.OutFeatures]];
            },
            Macs = (c, _) => CirculantAttrs.Of(c.Node, c.Param("weight"), c.X).Macs,
        };
        yield return new OpSchema
        {
            Name = SharedConv,
            Doc = "conv2d whose weight [S G, C, k, k] is expanded from stored filters [S, C, k, k] by negation (G 2), p4 (4) or p4m (8), reordered by 'order'",
            RequiredParams = ["weight"], OptionalParams = ["bias"],
            AttrDocs = new Dictionary<string, string>
            {
                ["sharing"] = "required: negation | p4 | p4m", ["order"] = "identity",
                ["input_order"] = "none (plain input channels); p4 / p4m: the input channels are the orbits of an earlier layer of the group in its order, permuted by each filter's element (group convolution)", ["stride_h"] = "1", ["stride_w"] = "1",
                ["pad_h"] = "0", ["pad_w"] = "0", ["dilation_h"] = "1", ["dilation_w"] = "1",
            },
            InferShapes = c =>
            {
                var w = c.Param("weight");
                var s = SharedConvAttrs.Of(c.Node, w);
                var a = s.Conv;
                if (c.X.Length != 3 || c.X[0] != w[1])
                    throw new FormatException($"node '{c.Node.Name}' ({SharedConv}): stored filters {ShapeUtil.Format(w)} do not fit input {ShapeUtil.Format(c.X)}");
                int oh = ConvAttrs.OutSize(c.X[1], w[2], a.StrideH, a.PadH, a.DilationH), ow = ConvAttrs.OutSize(c.X[2], w[3], a.StrideW, a.PadW, a.DilationW);
                if (oh < 1 || ow < 1) throw new FormatException($"node '{c.Node.Name}' ({SharedConv}): input {ShapeUtil.Format(c.X)} is smaller than the kernel");
                var bias = c.ParamShape("bias");
                if (bias is not null && (bias.Length != 1 || bias[0] != w[0]))
                    throw new FormatException($"node '{c.Node.Name}' ({SharedConv}): bias has shape {ShapeUtil.Format(bias)}, expected [{w[0]}] (one per stored filter)");
                return [[s.OutChannels, oh, ow]];
            },
            Macs = (c, o) => { var w = c.Param("weight"); return (long)o[0][0] * o[0][1] * o[0][2] * w[1] * w[2] * w[3]; },
        };
    }
}

/// <summary>The geometry of a <c>circulant_linear</c> node: block grid, true feature counts and sign seed.</summary>
/// <param name="Shape">The block grid [p, q, b].</param>
/// <param name="InFeatures">Input features (the input is zero-padded to q b).</param>
/// <param name="OutFeatures">Output features (the first of the p b rows).</param>
/// <param name="SignSeed">Seed of the fixed random +-1 input signs (<see cref="Ops.RandomSigns"/> of length q b), or -1 for none.</param>
public readonly record struct CirculantAttrs(BlockCirculantShape Shape, int InFeatures, int OutFeatures, long SignSeed)
{
    /// <summary>Reads and checks the node's attributes against its weight shape and per-sample input shape.</summary>
    public static CirculantAttrs Of(GraphNode n, int[] weight, int[] x)
    {
        if (weight.Length != 3 || weight.Any(d => d < 1))
            throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): weight must be [outBlocks, inBlocks, blockSize], got {ShapeUtil.Format(weight)}");
        if (!FftPlan.IsSupportedSize(weight[2]))
            throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): block size {weight[2]} is not supported by the FFT");
        var shape = new BlockCirculantShape(weight[0], weight[1], weight[2]);
        if (x.Length != 1 || x[0] > shape.In || x[0] <= shape.In - shape.BlockSize)
            throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): {shape} needs input [{shape.In - shape.BlockSize + 1}..{shape.In}], got {ShapeUtil.Format(x)}");
        int inF = n.Int("input_features", shape.In);
        if (inF != x[0]) throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): input_features {inF} but the input is {ShapeUtil.Format(x)}");
        int outF = n.Int("out_features", shape.Out);
        if (outF > shape.Out || outF <= shape.Out - shape.BlockSize)
            throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): out_features {outF} must be in {shape.Out - shape.BlockSize + 1}..{shape.Out} for {shape}");
        double seed = n.Attrs.TryGetValue("sign_seed", out var v) ? v.AsNumber() : -1;
        if (seed < -1 || seed != Math.Floor(seed) || seed > int.MaxValue)
            throw new FormatException($"node '{n.Name}' ({StructuredOps.Circulant}): sign_seed must be -1 (no signs) or a non-negative integer, got {seed}");
        return new CirculantAttrs(shape, x[0], outF, (long)seed);
    }

    /// <summary>The fixed input signs [q b], or an empty array for none.</summary>
    public float[] Signs() => SignSeed < 0 ? [] : Ops.RandomSigns(Shape.In, (ulong)SignSeed).ToArray();

    /// <summary>
    /// Real multiply-adds per sample of the FFT path: q forward and p inverse real FFTs of size b
    /// (about 2 b log2 b each) and 4 (b/2 + 1) per block pair for the complex spectral products.
    /// </summary>
    public long Macs
    {
        get
        {
            int b = Shape.BlockSize;
            long fft = (long)Math.Ceiling(2.0 * b * Math.Log2(Math.Max(2, b)));
            return (Shape.InBlocks + Shape.OutBlocks) * fft + 4L * Shape.OutBlocks * Shape.InBlocks * (b / 2 + 1);
        }
    }
}

/// <summary>The attributes of a <c>shared_conv2d</c> node.</summary>
/// <param name="Sharing">How stored filters expand.</param>
/// <param name="Order">Permutation of the expanded filters (null: identity).</param>
/// <param name="Conv">Stride, padding and dilation (groups is always 1).</param>
/// <param name="OutChannels">Expanded filter count S G.</param>
/// <param name="InputOrder">
/// p4 / p4m group convolution (null: plain input channels): input channel c carries element InputOrder[c] mod G of input
/// orbit InputOrder[c] / G (the producing layer's <c>order</c>), and each filter also permutes the input orbits
/// (<see cref="FilterGroupTransforms.ExpansionMap(int, int, int, FilterGroup, int[])"/>).
/// </param>
public sealed record SharedConvAttrs(FilterSharing Sharing, int[]? Order, ConvAttrs Conv, int OutChannels, int[]? InputOrder = null)
{
    /// <summary>Reads and checks the node's attributes against its stored weight shape [S, C, k, k].</summary>
    public static SharedConvAttrs Of(GraphNode n, int[] weight)
    {
        if (weight.Length != 4 || weight[2] != weight[3] || weight.Any(d => d < 1))
            throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): stored filters must be [S, C, k, k] with square kernels, got {ShapeUtil.Format(weight)}");
        FilterSharing sharing;
        try { sharing = SharedFilterMap.Parse(n.Str("sharing")); }
        catch (FormatException e) { throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): {e.Message}"); }
        var conv = ConvAttrs.Of(n);
        if (conv.Groups != 1) throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): groups must be 1, got {conv.Groups}");
        int outC = weight[0] * SharedFilterMap.Multiplicity(sharing);
        var order = n.Ints("order");
        if (order is not null)
        {
            try { SharedFilterMap.CheckOrder(order, outC); }
            catch (FormatException e) { throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): {e.Message}"); }
        }
        var inputOrder = n.Ints("input_order");
        if (inputOrder is not null)
        {
            if (sharing == FilterSharing.Negation) throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): input_order needs sharing p4 or p4m");
            if (weight[1] % SharedFilterMap.Multiplicity(sharing) != 0)
                throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): input_order needs the {weight[1]} input channels to be whole orbits of {SharedFilterMap.Multiplicity(sharing)}");
            try { SharedFilterMap.CheckOrder(inputOrder, weight[1]); }
            catch (FormatException e) { throw new FormatException($"node '{n.Name}' ({StructuredOps.SharedConv}): input_order: {e.Message}"); }
        }
        return new SharedConvAttrs(sharing, order, conv, outC, inputOrder);
    }

    /// <summary>The expansion map of the weight.</summary>
    public SharedFilterMap WeightMap(int[] weight) => SharedFilterMap.Weight(weight[0], weight[1], weight[2], Sharing, Order, InputOrder);

    /// <summary>The expansion map of the bias.</summary>
    public SharedFilterMap BiasMap(int stored) => SharedFilterMap.Bias(stored, Sharing, Order);

    /// <summary>Writes the attributes onto a node.</summary>
    public static void WriteTo(GraphNode n, FilterSharing sharing, int[]? order, ConvAttrs conv, int[]? inputOrder = null)
    {
        conv.WriteTo(n);
        n.Attrs.Remove("groups");
        n.Attrs["sharing"] = SharedFilterMap.Name(sharing);
        if (order is not null) n.Attrs["order"] = order;
        if (inputOrder is not null) n.Attrs["input_order"] = inputOrder;
    }
}
