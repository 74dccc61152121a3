using System.Globalization;
using DeepShrink.Compression;
using Spectre.Console;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Prints the per-layer compression table (Deep Compression, Tables 2-3 layout).</summary>
public static class LayerTable
{
    /// <summary>Writes the table with a Total row.</summary>
    public static void Print(IReadOnlyList<LayerRow> rows, long fileBytes)
    {
        var t = new Table().Border(TableBorder.Simple);
        foreach (var h in new[] { "Tensor", "Codec", "Weights", "Kept", "Value bits P+Q", "Value bits +H", "Index bits P+Q", "Index bits +H", "Bytes", "Rate" })
            t.AddColumn(new TableColumn(h).RightAligned());
        t.Columns[0].LeftAligned(); t.Columns[1].LeftAligned();
        foreach (var r in rows)
            AddText(t, r.Name, r.Codec, N(r.Weights), P(r.Kept), B(r.ValueBitsPQ), B(r.ValueBitsPQH),
                r.Stats.IndexBitWidth == 0 ? "-" : B(r.IndexBitsPQ), r.Stats.IndexBitWidth == 0 ? "-" : B(r.IndexBitsPQH),
                N(r.Stats.PayloadBytes), $"{r.Rate:F1}x");
        long dense = DszReport.DenseBytes(rows), payload = rows.Sum(r => r.Stats.PayloadBytes);
        long weights = rows.Sum(r => r.Weights), nz = rows.Sum(r => r.Stats.Nonzeros);
        AddText(t, "Total (payload)", "", N(weights), P(weights == 0 ? 0 : (double)nz / weights), "", "", "", "", N(payload), $"{(double)dense / Math.Max(1, payload):F1}x");
        AddText(t, "File (headers incl.)", "", "", "", "", "", "", "", N(fileBytes), $"{(double)dense / Math.Max(1, fileBytes):F1}x");
        AnsiConsole.Write(t);
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string P(double v) => (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";
    private static string B(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static void AddText(Table t, params string[] cells) => t.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)).ToArray());
}
