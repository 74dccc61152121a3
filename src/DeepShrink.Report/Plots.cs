using DeepShrink.Compression.Pipeline;
using ScottPlot;

namespace DeepShrink.Report;

/// <summary>A rendered figure: its kind (histogram, sensitivity, bytes, pareto-size, ...), caption and PNG bytes.</summary>
public sealed record Figure(string Kind, string Caption, byte[] Png, int Width, int Height);

/// <summary>The report's figures, drawn with ScottPlot 5 into PNG images.</summary>
public static class Plots
{
    /// <summary>Figure width in pixels.</summary>
    public const int Width = 760;
    /// <summary>Figure height in pixels.</summary>
    public const int Height = 380;

    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    private static Figure Render(Plot plt, string kind, string caption, int width = Width, int height = Height)
        => new(kind, caption, plt.GetImageBytes(width, height, ImageFormat.Png), width, height);

    /// <summary>
    /// One layer's weight distribution at every recorded stage (density of the nonzero weights; the legend gives the
    /// share of exact zeros), with the final codebook centroids as vertical lines.
    /// </summary>
    public static Figure Histogram(string layer, IReadOnlyList<(string Stage, WeightHistogram H)> stages, float[]? centroids)
    {
        var plt = new Plot();
        for (int s = 0; s < stages.Count; s++)
        {
            var (stage, h) = stages[s];
            long nonzero = h.Count - h.Zeros;
            if (nonzero == 0) continue;
            double width = h.Max > h.Min ? (h.Max - h.Min) / h.Counts.Length : 1;
            var xs = Enumerable.Range(0, h.Counts.Length).Select(h.Center).ToArray();
            var ys = h.Counts.Select(c => c / (nonzero * width)).ToArray();
            var line = plt.Add.ScatterLine(xs, ys, Palette.GetColor(s));
            line.LineWidth = 2;
            line.ConnectStyle = ConnectStyle.StepVertical;
            line.LegendText = $"{stage} ({(double)h.Zeros / h.Count:P1} zero)";
        }
        if (centroids is { Length: > 0 })
        {
            foreach (var c in centroids)
            {
                var v = plt.Add.VerticalLine(c, 1, Colors.Black.WithAlpha(0.5), LinePattern.Dotted);
                v.LegendText = "";
            }
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = $"{centroids.Length} codebook centroids", LineColor = Colors.Black, LinePattern = LinePattern.Dotted, LineWidth = 1 });
        }
        plt.Title($"{layer}: weight distribution");
        plt.XLabel("weight value");
        plt.YLabel("density of nonzero weights");
        plt.ShowLegend(Alignment.UpperRight);
        return Render(plt, "histogram", $"Weights of {layer} at each stage" + (centroids is null ? "" : " with the final codebook centroids (dotted)"));
    }

    /// <summary>Accuracy against sparsity of each layer pruned alone, with the chosen operating points.</summary>
    public static Figure Sensitivity(IReadOnlyList<CurveData> curves) => Curves(curves,
        c => (new[] { 0.0 }.Concat(c.Sparsities).Select(s => s * 100).ToArray(), new[] { c.Baseline }.Concat(c.Accuracies).Select(a => a * 100).ToArray()),
        "Pruning sensitivity (one layer at a time, no retraining)", "validation accuracy (%)", Alignment.LowerLeft,
        "Sensitivity curves: validation accuracy after pruning each layer alone; diamonds mark the chosen targets");

    /// <summary>Relative output error against sparsity of each layer pruned alone (the automatic allocation's curves), with the chosen operating points.</summary>
    public static Figure LayerError(IReadOnlyList<CurveData> curves) => Curves(curves,
        c => (c.Sparsities.Select(s => s * 100).ToArray(), c.Accuracies.Select(e => e * 100).ToArray()),
        "Pruning sensitivity (one layer at a time, calibration images)", "relative output error of the layer (%)", Alignment.UpperLeft,
        "Sensitivity curves: each layer's relative output error when pruned alone (what the automatic allocation equalises); diamonds mark the chosen targets");

    private static Figure Curves(IReadOnlyList<CurveData> curves, Func<CurveData, (double[] Xs, double[] Ys)> points, string title, string yLabel, Alignment legend, string caption)
    {
        var plt = new Plot();
        for (int i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var color = Palette.GetColor(i);
            var (xs, ys) = points(c);
            plt.Add.Scatter(xs, ys, color).LegendText = c.Parameter;
            if (c.Chosen is double chosen)
                plt.Add.Marker(chosen * 100, Interpolate(xs, ys, chosen * 100), MarkerShape.FilledDiamond, 14, color).LegendText = "";
        }
        plt.Legend.ManualItems.Add(new LegendItem { LabelText = "chosen sparsity", MarkerShape = MarkerShape.FilledDiamond, MarkerSize = 12, MarkerColor = Colors.Gray });
        plt.Title(title);
        plt.XLabel("sparsity (%)");
        plt.YLabel(yLabel);
        plt.ShowLegend(legend);
        return Render(plt, "sensitivity", caption);
    }

    private static double Interpolate(double[] xs, double[] ys, double x)
    {
        for (int i = 1; i < xs.Length; i++)
            if (x <= xs[i]) return xs[i] == xs[i - 1] ? ys[i] : ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
        return ys[^1];
    }

    /// <summary>Bytes per layer: dense fp32 before, and after split into values, indices, codebook/side data and (apart) the container.</summary>
    public static IEnumerable<Figure> Bytes(IReadOnlyList<TensorBytes> tensors, long containerBytes)
    {
        var layers = tensors.GroupBy(t => t.Layer).Select(g => (Layer: g.Key, Dense: g.Sum(t => t.Dense), Values: g.Sum(t => t.Values), Indices: g.Sum(t => t.Indices), Side: g.Sum(t => t.Side))).ToList();
        var labels = layers.Select(l => l.Layer).Append("container").ToArray();
        var parts = new (string Name, Color Color)[] { ("values", Palette.GetColor(0)), ("indices", Palette.GetColor(1)), ("codebook / scales", Palette.GetColor(2)), ("header, graph, alignment", Palette.GetColor(3)) };

        var before = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < layers.Count; i++)
        {
            bars.Add(new Bar { Position = i * 3, Value = layers[i].Dense / 1024.0, FillColor = Colors.Gray, Size = 0.9 });
            bars.Add(new Bar { Position = i * 3 + 1, Value = (layers[i].Values + layers[i].Indices + layers[i].Side) / 1024.0, FillColor = parts[0].Color, Size = 0.9 });
        }
        before.Add.Bars(bars);
        before.Legend.ManualItems.Add(new LegendItem { LabelText = "before: dense fp32", FillColor = Colors.Gray });
        before.Legend.ManualItems.Add(new LegendItem { LabelText = "after: stored", FillColor = parts[0].Color });
        before.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(layers.Select((_, i) => i * 3 + 0.5).ToArray(), layers.Select(l => l.Layer).ToArray());
        before.Axes.Margins(bottom: 0);
        before.Title("Bytes per layer, before and after");
        before.YLabel("KiB");
        before.ShowLegend(Alignment.UpperRight);
        yield return Render(before, "bytes", "Bytes per layer: dense fp32 before, stored after");

        var after = new Plot();
        var stacked = new List<Bar>();
        for (int i = 0; i <= layers.Count; i++)
        {
            double[] values = i < layers.Count ? [layers[i].Values, layers[i].Indices, layers[i].Side, 0] : [0, 0, 0, containerBytes];
            double bottom = 0;
            for (int p = 0; p < parts.Length; p++)
            {
                if (values[p] <= 0) continue;
                stacked.Add(new Bar { Position = i, ValueBase = bottom, Value = bottom + values[p] / 1024.0, FillColor = parts[p].Color, Size = 0.7 });
                bottom += values[p] / 1024.0;
            }
        }
        after.Add.Bars(stacked);
        foreach (var (name, color) in parts) after.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = color });
        after.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(labels.Select((_, i) => (double)i).ToArray(), labels);
        after.Axes.Margins(bottom: 0);
        after.Title("Stored bytes per layer, split");
        after.YLabel("KiB");
        after.ShowLegend(Alignment.UpperRight);
        yield return Render(after, "bytes-split", "Stored bytes per layer split into values, indices, codebook/scales, and the container");
    }

    /// <summary>Accuracy against a cost (size or latency) for every run, with the dense baselines and the Pareto front.</summary>
    public static Figure Pareto(string kind, string xLabel, IReadOnlyList<(string Label, double X, double Accuracy, bool Dense)> points)
    {
        var plt = new Plot();
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var m = plt.Add.Marker(p.X, p.Accuracy * 100, p.Dense ? MarkerShape.OpenCircle : MarkerShape.FilledCircle, 12, Palette.GetColor(i));
            m.LegendText = p.Label;
        }
        var front = ParetoFront(points.Select(p => (p.X, p.Accuracy)).ToList());
        if (front.Count > 1)
        {
            var line = plt.Add.ScatterLine(front.Select(f => f.X).ToArray(), front.Select(f => f.Accuracy * 100).ToArray(), Colors.Black.WithAlpha(0.4));
            line.LinePattern = LinePattern.Dashed;
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LegendText = "Pareto front";
        }
        // Costs start at zero so that ratios read off the axis; a single point still gets a visible range.
        double maxX = points.Count == 0 ? 1 : points.Max(p => p.X), minY = points.Count == 0 ? 0 : points.Min(p => p.Accuracy * 100), maxY = points.Count == 0 ? 100 : points.Max(p => p.Accuracy * 100);
        double padY = Math.Max(0.5, (maxY - minY) * 0.15);
        plt.Axes.SetLimits(0, maxX > 0 ? maxX * 1.15 : 1, minY - padY, maxY + padY);
        plt.Axes.Bottom.Label.Text = xLabel;
        plt.YLabel("test accuracy (%)");
        plt.Title($"Accuracy against {xLabel}");
        plt.ShowLegend(Alignment.LowerRight);
        return Render(plt, kind, $"Accuracy against {xLabel} for every run (open circles: dense baselines)");
    }

    /// <summary>The points no other point beats in both cost (lower) and accuracy (higher), by ascending cost.</summary>
    public static List<(double X, double Accuracy)> ParetoFront(IReadOnlyList<(double X, double Accuracy)> points)
    {
        var front = new List<(double X, double Accuracy)>();
        foreach (var p in points.OrderBy(p => p.X).ThenByDescending(p => p.Accuracy))
            if (front.Count == 0 || p.Accuracy > front[^1].Accuracy) front.Add(p);
        return front;
    }

    /// <summary>Training loss and accuracy of every retraining epoch, coloured by phase.</summary>
    public static Figure Training(string run, IReadOnlyList<EpochData> epochs)
    {
        var plt = new Plot();
        var phases = epochs.Select(e => (e.Attempt, e.Phase)).Distinct().ToList();
        var index = epochs.Select((e, i) => (e, i)).ToList();
        for (int p = 0; p < phases.Count; p++)
        {
            var sel = index.Where(x => x.e.Attempt == phases[p].Attempt && x.e.Phase == phases[p].Phase).ToList();
            var loss = plt.Add.Scatter(sel.Select(x => (double)x.i + 1).ToArray(), sel.Select(x => x.e.Loss).ToArray(), Palette.GetColor(p));
            loss.LegendText = $"loss, attempt {phases[p].Attempt} {phases[p].Phase}";
            var acc = plt.Add.Scatter(sel.Select(x => (double)x.i + 1).ToArray(), sel.Select(x => x.e.TrainAccuracy * 100).ToArray(), Palette.GetColor(p));
            acc.LinePattern = LinePattern.Dashed;
            acc.Axes.YAxis = plt.Axes.Right;
            acc.LegendText = $"train accuracy (%), {phases[p].Phase}";
        }
        plt.Title($"Retraining: {run}");
        plt.XLabel("epoch (all attempts in order)");
        plt.YLabel("training loss");
        plt.Axes.Right.Label.Text = "training accuracy (%)";
        plt.ShowLegend(Edge.Bottom);
        return Render(plt, "training", $"Training curves of the retraining phases ({run}): loss solid, accuracy dashed (right axis)", Width, Height + 120);
    }
}
