#include "bench/completion.h"

namespace rollcall::bench {

Pollers::Pollers(int count) {
  for (int i = 0; i < std::max(1, count); ++i) {
    queues_.push_back(std::make_unique<grpc::CompletionQueue>());
  }
  for (auto& queue : queues_) {
    threads_.emplace_back([cq = queue.get()] {
      void* tag = nullptr;
      bool ok = false;
      while (cq->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
    });
  }
}

Pollers::~Pollers() { Shutdown(); }

void Pollers::Shutdown() {
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::vector<std::shared_ptr<grpc::Channel>> NewChannels(const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, count); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("rollcall.bench.channel", i);  // distinct arguments: a connection of its own
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

}  // namespace rollcall::bench
