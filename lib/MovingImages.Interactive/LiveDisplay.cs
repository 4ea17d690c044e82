using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace MovingImages.Interactive;

/// <summary>
/// One output of the running cell that later values replace in place — a video frame, a progress bar, a training
/// preview. Safe to update from any thread while the cell runs.
/// </summary>
/// <remarks>
/// Made on the cell's thread, it remembers that cell's <see cref="KernelInvocationContext"/> and gives the output an id;
/// every update is published to that context with the same id (Jupyter: <c>display_data</c>, then
/// <c>update_display_data</c> with the same <c>display_id</c>). Every value is formatted as HTML and plain text, whatever
/// the first one was, so a text placeholder can be replaced by an image. (The kernel's own <c>display(…).Update</c> keeps
/// the first value's mime type and looks up the context of the thread it is called on, which a pipeline thread has not.)
/// Outside a notebook kernel it does nothing.
/// </remarks>
public sealed class LiveDisplay
{
    static readonly string[] MimeTypes = ["text/html", "text/plain"];
    readonly KernelInvocationContext? _context;
    readonly KernelCommand? _command;
    readonly Lock _gate = new();

    /// <summary>Shows <paramref name="initial"/> as a new output of the running cell.</summary>
    public LiveDisplay(object initial)
    {
        _context = KernelInvocationContext.Current;
        _command = _context?.Command;
        Publish(initial, update: false);
    }

    /// <summary>The id that ties the updates to the output (Jupyter's <c>display_id</c>).</summary>
    public string DisplayId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>How many times the output has been replaced.</summary>
    public int Updates { get; private set; }

    /// <summary>Replaces the output with <paramref name="value"/>.</summary>
    public void Update(object value) => Publish(value, update: true);

    void Publish(object value, bool update)
    {
        var formatted = FormattedValue.CreateManyFromObject(value, MimeTypes);
        lock (_gate)
        {
            if (update) Updates++;
            if (_context == null || _command == null) return;
            if (update) _context.Publish(new DisplayedValueUpdated(value, DisplayId, _command, formatted));
            else _context.Publish(new DisplayedValueProduced(value, _command, formatted, DisplayId));
        }
    }
}
