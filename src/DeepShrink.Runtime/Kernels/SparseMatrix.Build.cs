namespace DeepShrink.Runtime.Kernels;

public sealed partial class SparseMatrix
{
    /// <summary>Largest codebook kept as codes (8-bit codes in the slot's high byte).</summary>
    private const int MaxCodebook = 256;

    /// <summary>
    /// Builds the windowed layout from CSR arrays. Either <paramref name="codes"/> with
    /// <paramref name="centroids"/> (a codebook) or <paramref name="values"/> is given.
    /// </summary>
    private static SparseMatrix Build(int rows, int cols, int[] rowPtr, ReadOnlySpan<int> columns,
        ReadOnlySpan<int> codes, ReadOnlySpan<float> centroids, ReadOnlySpan<float> values)
    {
        CheckCsr(rows, cols, rowPtr, columns);
        bool hasCodes = values.IsEmpty && !centroids.IsEmpty;
        float[] table = [];
        int zeroCode = 0, codebookSize = 0;
        float[]? entryValues = hasCodes ? null : values.ToArray();
        if (hasCodes)
        {
            zeroCode = centroids.IndexOf(0f);
            if (zeroCode < 0 && centroids.Length < MaxCodebook) zeroCode = centroids.Length;
            int k = Math.Max(zeroCode + 1, centroids.Length);
            if (zeroCode >= 0 && k <= MaxCodebook)
            {
                table = new float[Math.Max(Window, k)];
                centroids.CopyTo(table);
                codebookSize = k;
            }
            else
            {   // no room for a zero code: store the values themselves
                entryValues = new float[columns.Length];
                for (int j = 0; j < entryValues.Length; j++) entryValues[j] = centroids[codes[j]];
                hasCodes = false;
            }
        }

        int chunks = (rows + Lanes - 1) / Lanes, windows = Math.Max(1, (cols + Window - 1) / Window);
        var laneCounts = new byte[(long)chunks * windows * Lanes];
        var blockStart = new int[chunks * windows + 1];
        long slots = 0;
        Span<int> ptr = stackalloc int[Lanes];
        for (int c = 0; c < chunks; c++)
        {
            for (int lane = 0; lane < Lanes; lane++) ptr[lane] = c * Lanes + lane < rows ? rowPtr[c * Lanes + lane] : 0;
            for (int w = 0; w < windows; w++)
            {
                int b = c * windows + w, max = 0, limit = (w + 1) * Window;
                for (int lane = 0; lane < Lanes; lane++)
                {
                    int r = c * Lanes + lane;
                    if (r >= rows) continue;
                    int p = ptr[lane];
                    while (p < rowPtr[r + 1] && columns[p] < limit) p++;
                    laneCounts[(long)b * Lanes + lane] = (byte)(p - ptr[lane]);
                    max = Math.Max(max, p - ptr[lane]);
                    ptr[lane] = p;
                }
                blockStart[b] = checked((int)slots);
                slots += max;
            }
        }
        blockStart[chunks * windows] = checked((int)slots);

        var slotArr = new ushort[checked(slots * Lanes)];
        var slotValues = hasCodes ? [] : new float[slotArr.Length];
        ushort pad = (ushort)(PadFlag | (hasCodes ? zeroCode << 8 : 0));
        for (int c = 0; c < chunks; c++)
            for (int lane = 0; lane < Lanes; lane++)
            {
                int r = c * Lanes + lane;
                int p = r < rows ? rowPtr[r] : 0;
                for (int w = 0; w < windows; w++)
                {
                    int b = c * windows + w, n = laneCounts[(long)b * Lanes + lane];
                    for (int s = 0; s < blockStart[b + 1] - blockStart[b]; s++)
                    {
                        int k = (blockStart[b] + s) * Lanes + lane;
                        if (s >= n) { slotArr[k] = pad; continue; }
                        int offset = columns[p] - w * Window;
                        slotArr[k] = (ushort)(offset | (hasCodes ? codes[p] << 8 : 0));
                        if (!hasCodes) slotValues[k] = entryValues![p];
                        p++;
                    }
                }
            }
        return new SparseMatrix(rows, cols, columns.Length, blockStart, slotArr, table, slotValues, codebookSize);
    }

    private static void CheckCsr(int rows, int cols, int[] rowPtr, ReadOnlySpan<int> columns)
    {
        if (rowPtr.Length != rows + 1 || rowPtr[0] != 0 || rowPtr[rows] != columns.Length)
            throw new ArgumentException("row pointers do not describe the entries");
        for (int r = 0; r < rows; r++)
        {
            if (rowPtr[r + 1] < rowPtr[r]) throw new ArgumentException($"row pointers decrease at row {r}");
            for (int j = rowPtr[r]; j < rowPtr[r + 1]; j++)
            {
                if ((uint)columns[j] >= (uint)cols) throw new ArgumentException($"column {columns[j]} outside 0..{cols - 1} in row {r}");
                if (j > rowPtr[r] && columns[j] <= columns[j - 1]) throw new ArgumentException($"columns of row {r} are not strictly increasing");
            }
        }
    }
}
