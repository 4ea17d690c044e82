using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;

namespace MovingImages.Interactive;

/// <summary>
/// Rows of values as a plain table — one column per public property — for a notebook output (HTML, or aligned text):
/// <c>NotebookDisplay.Table(scores.Select(s =&gt; new { s.Name, s.Distance }))</c>. Numbers use the invariant culture,
/// doubles and floats up to 4 decimals.
/// </summary>
public sealed class TableView
{
    /// <summary>A table with these column names and rows of already formatted cells.</summary>
    public TableView(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        if (rows.Any(r => r.Count != columns.Count)) throw new ArgumentException($"every row needs {columns.Count} cells");
        Columns = columns;
        Rows = rows;
    }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Columns { get; }
    /// <summary>Cells, row by row.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; }

    /// <summary>A table of <paramref name="rows"/>' public properties (anonymous objects and records work).</summary>
    public static TableView Of<T>(IEnumerable<T> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var items = rows.ToList();
        var type = typeof(T) == typeof(object) && items.Count > 0 && items[0] is { } first ? first.GetType() : typeof(T);
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract").ToArray();
        return new TableView(properties.Select(p => p.Name).ToArray(),
            items.Select(item => (IReadOnlyList<string>)properties.Select(p => Cell(item is null ? null : p.GetValue(item))).ToArray()).ToArray());
    }

    /// <summary>One value as table text.</summary>
    public static string Cell(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        float f => f.ToString("0.####", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The table as HTML.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder("<table><thead><tr>");
        foreach (var c in Columns) sb.Append("<th>").Append(WebUtility.HtmlEncode(c)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var row in Rows)
        {
            sb.Append("<tr>");
            foreach (var cell in row) sb.Append("<td>").Append(WebUtility.HtmlEncode(cell)).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table>").ToString();
    }

    /// <summary>The table as aligned text, a header line first.</summary>
    public override string ToString()
    {
        var widths = Columns.Select((c, i) => Math.Max(c.Length, Rows.Count == 0 ? 0 : Rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join("  ", Columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        foreach (var row in Rows) sb.AppendLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        return sb.ToString().TrimEnd('\n');
    }
}
