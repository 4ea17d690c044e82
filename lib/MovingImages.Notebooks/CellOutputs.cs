using Microsoft.CodeAnalysis;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace MovingImages.Notebooks;

/// <summary>
/// Turns the kernel's events for one cell into that cell's Jupyter outputs, as Jupyter's front end shows them: streams
/// (consecutive writes to one stream merged), displays (an update replaces the display with the same id, so the notebook
/// keeps the final frame or bar), the return value, compiler warnings (on stderr) and the error. Events may come from
/// any thread; live updates are saved at most every two seconds.
/// </summary>
internal sealed class CellOutputs(InteractiveDocumentElement cell, Action save)
{
    readonly Lock _gate = new();
    readonly Dictionary<string, DisplayElement> _displays = [];
    readonly System.Diagnostics.Stopwatch _sinceSave = System.Diagnostics.Stopwatch.StartNew();

    public void Add(KernelEvent e)
    {
        lock (_gate)
        {
            switch (e)
            {
                case StandardOutputValueProduced o: Stream("stdout", Text(o.FormattedValues)); break;
                case StandardErrorValueProduced o: Stream("stderr", Text(o.FormattedValues)); break;
                case ReturnValueProduced r:
                    var value = new ReturnValueElement();
                    foreach (var f in Shown(r.FormattedValues)) value.Data[f.MimeType] = f.Value;
                    if (value.Data.Count > 0) cell.Outputs.Add(value);
                    break;
                case DisplayedValueUpdated u when u.ValueId != null && _displays.TryGetValue(u.ValueId, out var shown):
                    int at = cell.Outputs.IndexOf(shown);
                    var replaced = Display(u.FormattedValues);
                    _displays[u.ValueId] = replaced;
                    if (at >= 0) cell.Outputs[at] = replaced;
                    if (_sinceSave.Elapsed.TotalSeconds > 2) { save(); _sinceSave.Restart(); }
                    break;
                case DisplayedValueUpdated u:
                    cell.Outputs.Add(Display(u.FormattedValues));
                    break;
                case DisplayedValueProduced d:
                    var element = Display(d.FormattedValues);
                    if (element.Data.Count == 0) break;
                    cell.Outputs.Add(element);
                    if (d.ValueId != null) _displays[d.ValueId] = element;
                    break;
                case DiagnosticsProduced diagnostics:
                    foreach (var w in diagnostics.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning))
                        Stream("stderr", $"{w}\n");
                    break;
            }
        }
    }

    public void AddError(CommandFailed? failed, string message)
    {
        lock (_gate)
        {
            string name = failed?.Exception?.GetType().Name ?? "Error";
            var trace = (failed?.Exception?.ToString() ?? message).Split('\n');
            cell.Outputs.Add(new ErrorElement(message, name, trace));
        }
    }

    void Stream(string name, string text)
    {
        if (text.Length == 0) return;
        if (cell.Outputs.Count > 0 && cell.Outputs[^1] is TextElement last && last.Name == name)
            cell.Outputs[^1] = new TextElement(last.Text + text, name);
        else
            cell.Outputs.Add(new TextElement(text, name));
    }

    static DisplayElement Display(IEnumerable<FormattedValue> values)
    {
        var data = new Dictionary<string, object>();
        foreach (var f in Shown(values)) data[f.MimeType] = f.Value;
        return new DisplayElement(data);
    }

    static IEnumerable<FormattedValue> Shown(IEnumerable<FormattedValue> values) => values.Where(f => !f.SuppressDisplay);

    static string Text(IEnumerable<FormattedValue> values) =>
        string.Concat(values.Where(f => f.MimeType == PlainTextFormatter.MimeType).Select(f => f.Value));
}
