using System.Globalization;

namespace DeepShrink.Core.Graph;

/// <summary>Kind of a graph attribute value.</summary>
public enum AttrKind
{
    /// <summary>A number (integer or float).</summary>
    Number,
    /// <summary>A list of numbers (e.g. pads, a target shape).</summary>
    List,
    /// <summary>A string.</summary>
    Text,
}

/// <summary>
/// A typed attribute of a <see cref="GraphNode"/>: a number, a list of numbers or a string. Numbers
/// convert implicitly, so <c>node.Attrs["groups"] = 2</c> and <c>new() { ["pads"] = new[] { 1, 0, 1, 0 } }</c> work.
/// </summary>
public readonly struct AttrValue : IEquatable<AttrValue>
{
    private readonly double _number;
    private readonly double[]? _list;
    private readonly string? _text;

    private AttrValue(double number, double[]? list, string? text, AttrKind kind)
    {
        _number = number; _list = list; _text = text; Kind = kind;
    }

    /// <summary>What the value holds.</summary>
    public AttrKind Kind { get; }

    /// <summary>A number.</summary>
    public static AttrValue Of(double v) => new(v, null, null, AttrKind.Number);
    /// <summary>A list of numbers (copied).</summary>
    public static AttrValue Of(IEnumerable<double> v) => new(0, v.ToArray(), null, AttrKind.List);
    /// <summary>A list of integers.</summary>
    public static AttrValue Of(IEnumerable<int> v) => new(0, v.Select(x => (double)x).ToArray(), null, AttrKind.List);
    /// <summary>A string.</summary>
    public static AttrValue Of(string v) => new(0, null, v ?? throw new ArgumentNullException(nameof(v)), AttrKind.Text);

    /// <summary>Number conversion.</summary>
    public static implicit operator AttrValue(double v) => Of(v);
    /// <summary>Number conversion.</summary>
    public static implicit operator AttrValue(int v) => Of(v);
    /// <summary>Number conversion.</summary>
    public static implicit operator AttrValue(float v) => Of(v);
    /// <summary>Integer list conversion.</summary>
    public static implicit operator AttrValue(int[] v) => Of(v);
    /// <summary>Number list conversion.</summary>
    public static implicit operator AttrValue(double[] v) => Of(v);
    /// <summary>String conversion.</summary>
    public static implicit operator AttrValue(string v) => Of(v);
    /// <summary>The number (throws when the value is not a number).</summary>
    public static explicit operator double(AttrValue v) => v.AsNumber();

    /// <summary>The number; <see cref="FormatException"/> when the value is a list or string.</summary>
    public double AsNumber() => Kind == AttrKind.Number ? _number : throw new FormatException($"attribute is a {Kind.ToString().ToLowerInvariant()}, expected a number");

    /// <summary>The list of numbers; <see cref="FormatException"/> otherwise.</summary>
    public IReadOnlyList<double> AsList() => Kind == AttrKind.List ? _list! : throw new FormatException($"attribute is a {Kind.ToString().ToLowerInvariant()}, expected a list");

    /// <summary>The list as integers; <see cref="FormatException"/> when an element is not an integer.</summary>
    public int[] AsInts() => AsList().Select(d => ToInt(d)).ToArray();

    /// <summary>The string; <see cref="FormatException"/> otherwise.</summary>
    public string AsText() => Kind == AttrKind.Text ? _text! : throw new FormatException($"attribute is a {Kind.ToString().ToLowerInvariant()}, expected a string");

    /// <summary>An integer from a number, with a one-line error when it is not integral or out of range.</summary>
    public static int ToInt(double d)
    {
        if (!double.IsFinite(d) || d != Math.Floor(d) || d < int.MinValue || d > int.MaxValue)
            throw new FormatException($"attribute value {d.ToString(CultureInfo.InvariantCulture)} is not an integer");
        return (int)d;
    }

    /// <inheritdoc/>
    public bool Equals(AttrValue other) => Kind == other.Kind && Kind switch
    {
        AttrKind.Number => _number.Equals(other._number),
        AttrKind.List => _list!.AsSpan().SequenceEqual(other._list),
        _ => string.Equals(_text, other._text, StringComparison.Ordinal),
    };

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AttrValue a && Equals(a);

    /// <inheritdoc/>
    public override int GetHashCode() => Kind switch
    {
        AttrKind.Number => _number.GetHashCode(),
        AttrKind.List => _list!.Aggregate(17, (h, d) => h * 31 + d.GetHashCode()),
        _ => _text!.GetHashCode(StringComparison.Ordinal),
    };

    /// <summary>Equality.</summary>
    public static bool operator ==(AttrValue a, AttrValue b) => a.Equals(b);
    /// <summary>Inequality.</summary>
    public static bool operator !=(AttrValue a, AttrValue b) => !a.Equals(b);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        AttrKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        AttrKind.List => "[" + string.Join(", ", _list!.Select(d => d.ToString("R", CultureInfo.InvariantCulture))) + "]",
        _ => _text!,
    };
}
