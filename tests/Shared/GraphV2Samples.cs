using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Tests.Shared;

/// <summary>
/// Small hand-built graphs with odd shapes covering every graph-v2 op (shared by the runtime and ONNX tests
/// through a linked source file): element-wise and clamped activations, softmax, broadcasting arithmetic with
/// inputs and constants, shape ops, rectangular pools, and a SqueezeNet/ResNet-like DAG.
/// </summary>
internal static class GraphV2Samples
{
    /// <summary>Names accepted by <see cref="Build"/>.</summary>
    public static readonly string[] Names = ["activations", "broadcast-constants", "broadcast-inputs", "shape-ops", "pools", "dag"];

    /// <summary>xunit member data: one row per sample name.</summary>
    public static IEnumerable<object[]> Rows => Names.Select(n => new object[] { n });

    /// <summary>The graph <paramref name="name"/> with its dense tensors.</summary>
    public static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) Build(string name) => name switch
    {
        "activations" => Activations(),
        "broadcast-constants" => BroadcastConstants(),
        "broadcast-inputs" => BroadcastInputs(),
        "shape-ops" => ShapeOps(),
        "pools" => Pools(),
        "dag" => Dag(),
        _ => throw new ArgumentException($"no sample graph '{name}'"),
    };

    private static (ModelGraph, Dictionary<string, Tensor>) Activations()
    {
        var s = new Sample(31, [3, 5, 7]);
        var g = s.G;
        string v = g.Add("clip", "clip", [g.Graph.Input], null, new() { ["min"] = -0.5, ["max"] = 0.7 });
        var hs = g.Add("hsig", "hard_sigmoid", [g.Graph.Input], null, new() { ["alpha"] = 0.3, ["beta"] = 0.4 });
        var sw = g.Add("hswish", "hard_swish", [g.Graph.Input]);
        var upper = g.Add("clip_max", "clip", [sw], null, new() { ["max"] = 0.25 });
        var lower = g.Add("clip_min", "clip", [hs], null, new() { ["min"] = 0.45 });
        v = g.Add("sum1", "add", [v, upper]);
        v = g.Add("sum2", "add", [v, lower]);
        var big = g.Add("scale", "mul", [v], s.Const("scale.b", [1], 40f));       // large logits: softmax must not overflow
        var mid = g.Add("sm_mid", "softmax", [big], null, new() { ["axis"] = 2 });  // over H (inner W)
        var last = g.Add("sm_last", "softmax", [v]);                                 // default axis -1
        var first = g.Add("sm_first", "softmax", [mid], null, new() { ["axis"] = 1 });
        v = g.Add("sum3", "add", [first, last]);
        return (g.Finish(v), s.Tensors);
    }

    private static (ModelGraph, Dictionary<string, Tensor>) BroadcastConstants()
    {
        var s = new Sample(32, [4, 6, 5]);
        var g = s.G;
        string v = g.Add("sub_mean", "sub", [g.Graph.Input], s.Const("mean", [4, 1, 1]));
        v = g.Add("div_std", "div", [v], s.Const("std", [4, 1, 1], positive: true));
        v = g.Add("mul_w", "mul", [v], s.Const("mul_w", [5]));
        v = g.Add("add_hw", "add", [v], s.Const("add_hw", [6, 5]));
        v = g.Add("relu", "relu", [v]);                                              // folded into add_hw
        v = g.Add("add_scalar", "add", [v], s.Const("add_scalar", [1]));
        v = g.Add("sub_full", "sub", [v], s.Const("sub_full", [4, 6, 5]));
        v = g.Add("div_col", "div", [v], s.Const("div_col", [6, 1], positive: true));
        v = g.Add("mul_ch", "mul", [v], s.Const("mul_ch", [1, 6, 1]));
        return (g.Finish(v), s.Tensors);
    }

    private static (ModelGraph, Dictionary<string, Tensor>) BroadcastInputs()
    {
        var s = new Sample(33, [5, 4, 5]);
        var g = s.G;
        var x = g.Graph.Input;
        var gap = g.Add("gap", "global_avgpool2d", [x]);                                      // [5, 1, 1]
        var gate = g.Add("gate", "hard_sigmoid", [gap]);
        var se = g.Add("excite", "mul", [x, gate]);                                           // squeeze-excite: [5, 4, 5] x [5, 1, 1]
        var vec = g.Add("vec", "reshape", [gap], null, new() { ["shape"] = new[] { -1 } });   // [5]
        var row = g.Add("row_add", "add", [se, vec]);                                         // [5, 4, 5] + [5]
        var grow = g.Add("grow", "sub", [vec, row]);                                          // [5] - [5, 4, 5]: the first operand grows
        var outer = g.Add("outer", "add", [gap, vec]);                                        // [5, 1, 1] + [5] = [5, 1, 5]
        var v = g.Add("mix", "mul", [outer, grow]);                                           // [5, 1, 5] x [5, 4, 5]
        v = g.Add("same", "div", [v, g.Add("pos", "add", [g.Add("sq", "mul", [x, x])], s.Const("one", [1], 1f))]);
        v = g.Add("res", "add", [v, x]);
        v = g.Add("relu", "relu", [v]);
        return (g.Finish(v), s.Tensors);
    }

    private static (ModelGraph, Dictionary<string, Tensor>) ShapeOps()
    {
        var s = new Sample(34, [3, 7, 6]);
        var g = s.G;
        var x = g.Graph.Input;
        var a = s.Conv("ca", x, 3, 2, 1, 1, 0);
        var b = s.Conv("cb", x, 3, 5, 3, 1, 1);
        var ch = g.Add("cat_c", "concat", [a, x, b], null, new() { ["axis"] = 1 });           // [10, 7, 6]
        var padded = g.Add("pad", "pad", [ch], null, new() { ["pads"] = new[] { 1, 0, 2, 3 }, ["value"] = 0.5 }); // [10, 10, 9]
        var w = g.Add("cat_w", "concat", [padded, padded], null, new() { ["axis"] = -1 });    // [10, 10, 18]
        var h = g.Add("cat_h", "concat", [w, s.Conv("cc", w, 10, 10, 3, 2, 1, strideW: 1, padW: 1)], null, new() { ["axis"] = 2 }); // + [10, 5, 18]
        var r = g.Add("reshape", "reshape", [h], null, new() { ["shape"] = new[] { 0, -1, 9 } }); // [10, 30, 9]
        var p2 = g.Add("pad0", "pad", [r], null, new() { ["pads"] = new[] { 0, 2, 0, 0 } });  // [10, 30, 11]
        var one = g.Add("cat_one", "concat", [p2], null, new() { ["axis"] = 2 });
        var v = g.Add("flat", "reshape", [one], null, new() { ["shape"] = new[] { 10, 330 } });
        return (g.Finish(v), s.Tensors);
    }

    private static (ModelGraph, Dictionary<string, Tensor>) Pools()
    {
        var s = new Sample(35, [3, 11, 9]);
        var g = s.G;
        var x = g.Graph.Input;
        var m = g.Add("max_rect", "maxpool2d", [x], null, new() { ["kernel_h"] = 3, ["kernel_w"] = 2, ["stride_h"] = 2, ["stride_w"] = 1, ["pad_h"] = 1, ["pad_w"] = 0 });
        var ex = g.Add("avg_excl", "avgpool2d", [x], null, new() { ["kernel_h"] = 3, ["kernel_w"] = 3, ["stride_h"] = 2, ["stride_w"] = 2, ["pad_h"] = 1, ["pad_w"] = 1, ["count_include_pad"] = 0 });
        var inc = g.Add("avg_incl", "avgpool2d", [x], null, new() { ["kernel_h"] = 3, ["kernel_w"] = 3, ["stride_h"] = 2, ["stride_w"] = 2, ["pad_h"] = 1, ["pad_w"] = 1 });
        var diff = g.Add("excl_minus_incl", "sub", [ex, inc]);                                  // non-zero only on border windows
        var rect = g.Add("avg_rect", "avgpool2d", [m], null, new() { ["kernel_h"] = 2, ["kernel_w"] = 4, ["stride_h"] = 1, ["stride_w"] = 3, ["pad_h"] = 1, ["pad_w"] = 2, ["count_include_pad"] = 0 });
        var sq = g.Add("max_sq", "maxpool2d", [x], null, new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        var v = g.Add("cat", "concat", [g.Add("f1", "flatten", [diff]), g.Add("f2", "flatten", [rect]), g.Add("f3", "flatten", [sq])], null, new() { ["axis"] = 1 });
        return (g.Finish(v), s.Tensors);
    }

    private static (ModelGraph, Dictionary<string, Tensor>) Dag()
    {
        var s = new Sample(36, [3, 13, 11]);
        var g = s.G;
        string v = g.Add("sub_mean", "sub", [g.Graph.Input], s.Const("mean", [3, 1, 1]));
        v = g.Add("div_std", "div", [v], s.Const("std", [3, 1, 1], positive: true));
        v = s.Conv("stem", v, 3, 8, 3, 2, 1);
        v = g.Add("stem_act", "hard_swish", [v]);                                             // [8, 7, 6]
        var sq = g.Add("sq_relu", "relu", [s.Conv("fire_sq", v, 8, 4, 1, 1, 0)]);
        var e1 = g.Add("e1_relu", "relu", [s.Conv("fire_e1", sq, 4, 4, 1, 1, 0)]);
        var e3 = g.Add("e3_relu6", "clip", [s.Conv("fire_e3", sq, 4, 4, 3, 1, 1)], null, new() { ["min"] = 0, ["max"] = 6 });
        var fire = g.Add("fire_cat", "concat", [e1, e3], null, new() { ["axis"] = 1 });       // [8, 7, 6]
        v = g.Add("residual", "add", [fire, v]);
        v = g.Add("res_relu", "relu", [v]);
        v = g.Add("pool", "maxpool2d", [g.Add("pad", "pad", [v], null, new() { ["pads"] = new[] { 0, 1, 1, 0 } })], null,
            new() { ["kernel_h"] = 2, ["kernel_w"] = 3, ["stride_h"] = 2, ["stride_w"] = 2 });
        var gate = g.Add("se_gate", "hard_sigmoid", [g.Add("gap0", "global_avgpool2d", [v])]);
        v = g.Add("se", "mul", [v, gate]);
        v = g.Add("gap", "global_avgpool2d", [v]);
        v = g.Add("flat", "reshape", [v], null, new() { ["shape"] = new[] { -1 } });
        v = s.Linear("fc", v, 8, 5);
        v = g.Add("prob", "softmax", [v]);
        return (g.Finish(v), s.Tensors);
    }

    /// <summary>A graph under construction with seeded dense tensors.</summary>
    private sealed class Sample(ulong seed, int[] shape)
    {
        private readonly Rng _rng = new(seed);
        public GraphBuilder G { get; } = new(shape);
        public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);

        /// <summary>A constant 'b' parameter: random (positive, away from zero, for divisors) or filled with <paramref name="fill"/>.</summary>
        public Dictionary<string, string> Const(string name, int[] shape, float? fill = null, bool positive = false)
        {
            Tensors[name] = fill is float f ? Tensor.Full(f, shape) : positive ? Tensor.Uniform(_rng, 0.5f, 2f, shape) : Tensor.Randn(_rng, 0.7f, shape);
            return new() { ["b"] = name };
        }

        public string Conv(string name, string input, int inC, int outC, int k, int stride, int pad, int? strideW = null, int? padW = null)
        {
            Tensors[name + ".weight"] = Tensor.Randn(_rng, 0.4f, outC, inC, k, k);
            Tensors[name + ".bias"] = Tensor.Randn(_rng, 0.2f, outC);
            return G.Add(name, "conv2d", [input], new() { ["weight"] = name + ".weight", ["bias"] = name + ".bias" }, new()
            {
                ["stride_h"] = stride, ["stride_w"] = strideW ?? stride, ["pad_h"] = pad, ["pad_w"] = padW ?? pad,
            });
        }

        public string Linear(string name, string input, int inF, int outF)
        {
            Tensors[name + ".weight"] = Tensor.Randn(_rng, 0.5f, outF, inF);
            Tensors[name + ".bias"] = Tensor.Randn(_rng, 0.2f, outF);
            return G.Add(name, "linear", [input], new() { ["weight"] = name + ".weight", ["bias"] = name + ".bias" });
        }
    }
}
