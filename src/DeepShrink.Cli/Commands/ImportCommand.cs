using System.CommandLine;
using System.Globalization;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Onnx.Import;
using Spectre.Console;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>import</c> verb: converts an ONNX model into a safetensors checkpoint whose metadata holds
/// the graph (<c>deepshrink.graph</c>), the source file name and, when known, the input normalisation.
/// </summary>
public static class ImportCommand
{
    /// <summary>Metadata key of the graph JSON.</summary>
    public const string GraphKey = "deepshrink.graph";
    /// <summary>Metadata key of the source file name.</summary>
    public const string SourceKey = "deepshrink.source";
    /// <summary>Metadata key of the channel order (comma-separated image channel per model channel), when it is not the identity.</summary>
    public const string ChannelOrderKey = Nn.IO.ModelIO.ChannelOrderKey;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The .onnx file to import", Required = true };
        var output = new Option<string>("--out") { Description = "Checkpoint to write (.safetensors)", Required = true };
        var global = new Option<bool>("--global-pool") { Description = "Turn an AveragePool whose window covers its whole input into global average pooling (other image sizes)" };
        var norm = new Option<string?>("--normalization")
        {
            Description = "Input normalisation to record: auto (the preprocessing graph beside a fetched model), imagenet, none, or an ONNX preprocessing graph FILE",
            DefaultValueFactory = _ => "auto",
        };
        var check = new Option<int>("--check")
        {
            Description = "After writing, run N inputs (Fashion-MNIST test images resized to the input, else noise) through our runtime and ONNX Runtime and report the parity (0 = skip)",
            DefaultValueFactory = _ => 0,
        };
        var json = CommonOptions.Json();
        var cmd = new Command("import", "Import an ONNX model (opsets 7-21) as a DeepShrink graph checkpoint");
        foreach (var o in new Option[] { model, output, global, norm, check, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var report = Run(pr.GetValue(model)!, pr.GetValue(output)!, pr.GetValue(global), pr.GetValue(norm) ?? "auto", pr.GetValue(check));
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Imports, writes the checkpoint atomically and prints the layer summary.</summary>
    public static JsonReport Run(string modelPath, string outPath, bool globalPool, string normalization, int check = 0)
    {
        OutputPath.Check(outPath);
        if (check < 0) throw new CliException("--check must be >= 0", 2);
        var (m, meta, norm, note) = Load(modelPath, globalPool, normalization);
        Checkpoint.Save(outPath, m.Tensors, meta);
        var rows = GraphAnalysis.Analyze(m.Graph, m.ParamShape);
        PrintTable(rows, m);
        long macs = rows.Sum(r => r.Macs), bytes = new FileInfo(outPath).Length;
        Console.WriteLine($"imported {Path.GetFileName(modelPath)} ({m.Info.Producer}, opset {m.Info.Opset}): {m.Graph.Nodes.Count} nodes, {m.ParameterCount:N0} parameters, {macs:N0} MACs per sample, input [N, {string.Join(", ", m.Graph.InputShape)}]");
        if (note is not null) Console.WriteLine(note);
        Console.WriteLine($"wrote {outPath} ({bytes:N0} bytes)");
        var report = new JsonReport().Set("model", modelPath).Set("out", outPath).Set("bytes", bytes)
            .Set("opset", m.Info.Opset).Set("producer", m.Info.Producer).Set("nodes", m.Graph.Nodes.Count)
            .Set("params", m.ParameterCount).Set("macs", macs)
            .Set("input_shape", JsonReport.ToNode(m.Graph.InputShape)).Set("output_shape", JsonReport.ToNode(rows[^1].OutputShape))
            .Set("onnx_ops", JsonReport.ToNode(m.Info.OnnxOps.Select(kv => KeyValuePair.Create(kv.Key, (object)kv.Value)).ToList()))
            .Set("normalization", norm is null ? null : JsonReport.ToNode(new Dictionary<string, object> { ["mean"] = norm.Mean, ["std"] = norm.Std }));
        if (check > 0)
        {
            var (inputs, source) = ParityInputs.Make(m.Graph.InputShape, check, norm);
            var p = OnnxParity.Compare(m, modelPath, inputs, check);
            Console.WriteLine($"parity with ONNX Runtime on {source}: max |diff| {p.MaxAbsDiff:G3} (outputs up to {p.MaxAbsReference:G3}), min cosine {p.MinCosine:F7}");
            report.Set("parity_samples", p.Samples).Set("parity_inputs", source).Set("parity_max_abs_diff", p.MaxAbsDiff)
                .Set("parity_cosine_min", p.MinCosine).Set("parity_max_abs_output", p.MaxAbsReference);
        }
        return report;
    }

    /// <summary>
    /// Imports an ONNX file and the metadata a checkpoint of it records (graph, source, opset, producer,
    /// normalisation and channel order per <paramref name="normalization"/>); also the normalisation and
    /// a line describing it (null when none).
    /// </summary>
    public static (ImportedModel Model, Dictionary<string, string> Meta, Normalization? Norm, string? Note) Load(string modelPath, bool globalPool, string normalization)
    {
        if (!File.Exists(modelPath)) throw new CliException($"ONNX model not found: {modelPath}");
        var m = OnnxImporter.Import(modelPath, new OnnxImportOptions { GlobalPoolFullWindowAverage = globalPool });
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [GraphKey] = m.Graph.ToJson(),
            [SourceKey] = Path.GetFileName(modelPath),
            ["deepshrink.onnx_opset"] = m.Info.Opset.ToString(CultureInfo.InvariantCulture),
            ["deepshrink.onnx_producer"] = m.Info.Producer,
        };
        var (norm, order, note) = Normalisation(modelPath, normalization, m.Graph.InputShape);
        if (norm is not null) meta[Nn.IO.ModelIO.NormalizationKey] = norm.ToJson();
        if (order is not null) meta[ChannelOrderKey] = ChannelOrder.Format(order);
        return (m, meta, norm, note);
    }

    /// <summary>The normalisation to record, the channel order when not the identity, and a line to print.</summary>
    private static (Normalization? Norm, int[]? Order, string? Note) Normalisation(string modelPath, string option, int[] inputShape)
    {
        switch (option)
        {
            case "none": return (null, null, null);
            case "imagenet": return (new Normalization([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]), null, "normalisation: ImageNet mean/std");
        }
        string? pre = option == "auto" ? AutoPreprocess(modelPath) : option;
        if (pre is null) return (null, null, null);
        if (!File.Exists(pre)) throw new CliException($"preprocessing graph not found: {pre}");
        var p = ImagePreprocessing.Measure(pre);
        if (inputShape.Length < 1 || p.Mean.Length != inputShape[0])
            throw new CliException($"{pre} normalises {p.Mean.Length} channels, the model takes {ShapeUtil.Format(inputShape)}");
        var norm = new Normalization(p.Mean, p.Std);
        bool identity = ChannelOrder.IsIdentity(p.ChannelOrder);
        string note = $"normalisation from {Path.GetFileName(pre)}: mean [{F(p.Mean)}], std [{F(p.Std)}] of [0, 1] pixels"
            + (identity ? "" : $", model channel c reads image channel [{string.Join(", ", p.ChannelOrder)}][c]")
            + (p.MaxPixelDeviation > 0 ? $" (its per-pixel mean image deviates up to {p.MaxPixelDeviation:G3} from the channel means)" : "");
        return (norm, identity ? null : p.ChannelOrder, note);
    }

    private static string? AutoPreprocess(string modelPath)
    {
        string full = Path.GetFullPath(modelPath).Replace('\\', '/');
        foreach (var pm in PretrainedModels.All)
            if (full.EndsWith(pm.ModelPath, StringComparison.Ordinal)) return PretrainedModels.PreprocessFile(pm, full);
        return null;
    }

    private static string F(float[] v) => string.Join(", ", v.Select(x => x.ToString("G5", CultureInfo.InvariantCulture)));

    private static void PrintTable(List<GraphAnalysis.NodeInfo> rows, ImportedModel m)
    {
        var t = new Table().Border(TableBorder.Simple);
        foreach (var h in new[] { "Node", "Op", "Output", "Params", "MACs" }) t.AddColumn(new TableColumn(h).RightAligned());
        t.Columns[0].LeftAligned(); t.Columns[1].LeftAligned();
        foreach (var r in rows)
        {
            long p = r.Node.Params.Values.Sum(n => (long)m.Tensors[n].Size);
            t.AddRow(new Text(r.Node.Name), new Text(r.Node.Op), new Text(ShapeUtil.Format(r.OutputShape)),
                new Text(p.ToString("N0", CultureInfo.InvariantCulture)), new Text(r.Macs.ToString("N0", CultureInfo.InvariantCulture)));
        }
        AnsiConsole.Write(t);
    }
}
