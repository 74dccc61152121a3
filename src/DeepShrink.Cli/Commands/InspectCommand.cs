using DeepShrink.Nn.IO;
using System.CommandLine;
using System.Globalization;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Nn;
using Spectre.Console;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>inspect</c> verb: layers, parameters, non-zeros, bits, bytes and MACs of a model file.</summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "A .safetensors checkpoint, a .dsz compressed model or an .onnx model (imported on the fly)" };
        var json = CommonOptions.Json();
        var plot = new Option<string?>("--plot") { Description = "Also write an HTML report with plots of this model file to FILE" };
        var cmd = new Command("inspect", "Show layers, parameters, non-zeros, bits, bytes, MACs and an energy estimate of a model file");
        cmd.Arguments.Add(file);
        cmd.Options.Add(json);
        cmd.Options.Add(plot);
        cmd.SetHandler(pr =>
        {
            var path = pr.GetValue(file)!;
            var kind = ModelFiles.Detect(path);
            if (kind == ModelFiles.Kind.Onnx && pr.GetValue(plot) is not null)
                throw new CliException($"inspect --plot takes .safetensors and .dsz models; import {path} first (`deepshrink import --model {path} --out M.safetensors`)");
            LoadedModel? onnx = kind == ModelFiles.Kind.Onnx ? ModelFiles.LoadTrainable(path) : null;
            var report = kind switch
            {
                ModelFiles.Kind.Safetensors => InspectCheckpoint(path),
                ModelFiles.Kind.Dsz => InspectDsz(path),
                _ => InspectLoaded(onnx!, path, "ONNX model, imported"),
            };
            var energy = onnx is null ? CompressCommand.EnergyOf(path)! : CompressCommand.EnergyOf(ModelFileLayers.Read(onnx));
            PrintEnergy(energy);
            report.Set("energy", JsonReport.ToNode(energy)).WriteIfRequested(pr.GetValue(json));
            if (pr.GetValue(plot) is { } html) ReportCommand.Write([path], html);
            return 0;
        });
        return cmd;
    }

    private sealed record Row(string Layer, string Op, string Output, long Params, long Nonzeros, double Bits, long Bytes, long Macs, string Codec)
    {
        /// <summary>Output channels before channel pruning (node attribute dense_channels), 0 when the layer was not channel-pruned.</summary>
        public int DenseChannels { get; init; }
    }

    private static JsonReport InspectCheckpoint(string path) =>
        InspectLoaded(ModelIO.Load(path, DeepShrink.Compression.Quantization.InputHooks.Factories), path, "safetensors checkpoint");

    private static JsonReport InspectLoaded(LoadedModel m, string path, string what)
    {
        var tensors = m.Model.StateDict();
        var graph = m.Model.AppendGraphRoot(m.SampleShape);
        var rows = Rows(graph, n => tensors[n].Shape, n =>
        {
            var t = tensors[n];
            long nz = 0;
            foreach (var v in t.Span) if (v != 0f) nz++;
            return (nz, 32.0, (long)t.Size * 4, "dense-f32");
        });
        Console.WriteLine($"{path}: {m.Arch} ({what}), input {ShapeUtil.Format(m.SampleShape)}, file {new FileInfo(path).Length:N0} bytes");
        return Print(rows, m.Arch, path, new FileInfo(path).Length);
    }

    private static JsonReport InspectDsz(string path)
    {
        var file = DszFile.Read(path);
        var graph = ModelIO.GraphOf(file);
        var stats = file.Tensors.ToDictionary(t => t.Name, t => (t, s: t.ComputeStats()));
        var rows = Rows(graph, n => Shape(stats, n), n =>
        {
            var (t, s) = stats[n];
            return (s.Nonzeros, s.Elements == 0 ? 0 : s.TotalBitsCoded / (double)s.Elements, s.PayloadBytes, t.Codec);
        });
        string arch = file.Metadata.TryGetValue(Checkpoint.ArchKey, out var a) ? a : "?";
        Console.WriteLine($"{path}: {arch} (.dsz v{file.Version}), input {ShapeUtil.Format(graph.InputShape)}, file {file.FileBytes:N0} bytes (header {file.HeaderBytes:N0})");
        foreach (var (k, v) in file.Metadata.Where(kv => kv.Key is "deepshrink.recipe" or "deepshrink.baseline_accuracy" or "deepshrink.source"))
            Console.WriteLine($"  {k} = {v}");
        var report = Print(rows, arch, path, file.FileBytes);
        Console.WriteLine();
        var layerRows = DszReport.Rows(file);
        LayerTable.Print(layerRows, file.FileBytes);
        return report.Set("tensors", JsonReport.ToNode(layerRows.Select(r => r.ToDictionary())));
    }

    private static int[] Shape(Dictionary<string, (DszTensor t, DszTensorStats s)> stats, string n)
        => stats.TryGetValue(n, out var e) ? e.t.Shape.ToArray() : throw new CliException($"graph references tensor '{n}' which the file lacks");

    private static List<Row> Rows(ModelGraph graph, Func<string, int[]> shapeOf, Func<string, (long Nz, double Bits, long Bytes, string Codec)> tensorInfo)
    {
        var rows = new List<Row>();
        foreach (var info in GraphAnalysis.Analyze(graph, shapeOf))
        {
            long p = 0, nz = 0, bytes = 0; double bitsWeighted = 0;
            var codecs = new List<string>();
            foreach (var name in info.Node.Params.Values)
            {
                long size = ShapeUtil.Numel(shapeOf(name));
                var (tnz, bits, b, codec) = tensorInfo(name);
                p += size; nz += tnz; bytes += b; bitsWeighted += bits * size;
                if (!codecs.Contains(codec)) codecs.Add(codec);
            }
            rows.Add(new Row(info.Node.Name, info.Node.Op, ShapeUtil.Format(info.OutputShape), p, nz, p == 0 ? 0 : bitsWeighted / p, bytes, info.Macs, string.Join("+", codecs)) { DenseChannels = info.Node.Int("dense_channels", 0) });
        }
        return rows;
    }

    private static JsonReport Print(List<Row> rows, string arch, string path, long fileBytes)
    {
        var t = new Table().Border(TableBorder.Simple);
        foreach (var h in new[] { "Layer", "Op", "Output", "Params", "Non-zeros", "Bits/param", "Bytes", "MACs", "Codec" })
            t.AddColumn(new TableColumn(h).RightAligned());
        t.Columns[0].LeftAligned(); t.Columns[1].LeftAligned(); t.Columns[8].LeftAligned();
        foreach (var r in rows)
            AddText(t, r.Layer, r.Op, r.DenseChannels > 0 ? $"{r.Output} of {r.DenseChannels}" : r.Output, N(r.Params), N(r.Nonzeros), r.Params == 0 ? "-" : r.Bits.ToString("F2", CultureInfo.InvariantCulture), N(r.Bytes), N(r.Macs), r.Codec);
        long tp = rows.Sum(r => r.Params), tnz = rows.Sum(r => r.Nonzeros), tb = rows.Sum(r => r.Bytes), tm = rows.Sum(r => r.Macs);
        AddText(t, "Total", "", "", N(tp), N(tnz), tp == 0 ? "-" : (tb * 8.0 / tp).ToString("F2", CultureInfo.InvariantCulture), N(tb), N(tm), "");
        AnsiConsole.Write(t);
        return new JsonReport().Set("file", path).Set("model", arch).Set("file_bytes", fileBytes)
            .Set("parameters", tp).Set("nonzeros", tnz).Set("tensor_bytes", tb).Set("macs", tm)
            .Set("layers", JsonReport.ToNode(rows.Select(r => new Dictionary<string, object>
            {
                ["name"] = r.Layer, ["op"] = r.Op, ["output_shape"] = r.Output, ["dense_channels"] = r.DenseChannels, ["parameters"] = r.Params, ["nonzeros"] = r.Nonzeros,
                ["bits_per_parameter"] = Math.Round(r.Bits, 3), ["bytes"] = r.Bytes, ["macs"] = r.Macs, ["codec"] = r.Codec,
            })));
    }

    private static void PrintEnergy(Dictionary<string, object> energy)
    {
        var dense = (Dictionary<string, object>)energy["dense"];
        var stored = (Dictionary<string, object>)energy["compressed"];
        string Macs(Dictionary<string, object> e) => string.Join(" + ", ((Dictionary<string, object>)e["macs_by_precision"]).Select(kv => $"{kv.Value:N0} {kv.Key}"));
        Console.WriteLine();
        Console.WriteLine($"per inference (batch 1), dense fp32: {dense["weight_bytes_fetched"]:N0} weight bytes, {Macs(dense)} MACs, {dense["total_dram_uj"]} uJ (weights in DRAM) / {dense["total_sram_uj"]} uJ (in SRAM)");
        Console.WriteLine($"per inference (batch 1), as stored: {stored["weight_bytes_fetched"]:N0} weight bytes, {Macs(stored)} MACs, {stored["total_dram_uj"]} uJ (weights in DRAM) / {stored["total_sram_uj"]} uJ (in SRAM)");
        Console.WriteLine($"  cost model: {energy["assumptions"]}");
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static void AddText(Table t, params string[] cells) => t.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)).ToArray());
}
