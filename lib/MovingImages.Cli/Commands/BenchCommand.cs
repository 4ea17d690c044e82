using System.CommandLine;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages bench …</c>: each measurement is its own command (Bench*Command.cs); ours next to a peer in the same run, <c>--json</c> for the figures.</summary>
internal static class BenchCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("bench", "Measure speed side by side with a peer implementation.");
        command.Subcommands.Add(BenchLocateCommand.Create(io));
        command.Subcommands.Add(BenchVideoCommand.Create(io));
        command.Subcommands.Add(BenchFacesCommand.Create(io));
        command.Subcommands.Add(BenchFakeVideoCommand.Create(io));
        return command;
    }
}
